"""Read replicas: where a read that tolerates replica lag runs.

``DATABASE_REPLICA_URLS`` (comma separated, the parameters of ``DATABASE_URL``) adds hot
standby nodes. The engine holds them as Piccolo ``extra_nodes`` (a Piccolo query can run on one
with ``.run(node=...)``) and as a :class:`ReplicaSet`, which :mod:`apps.core.rawsql` asks for a
node when a statement may go to a replica:

- only inside a selector marked :func:`lag_tolerant` (lists, searches, rollups: reads whose
  caller accepts data a moment old), never for a service, never inside a transaction (the
  transaction's connection is on the primary), never inside :func:`read_your_writes`;
- round robin over the replicas that are up and whose replay lag is at most
  ``DATABASE_REPLICA_MAX_LAG`` seconds (checked at most every ``LAG_CHECK_SECONDS`` per node,
  by one query on that node);
- a replica that cannot be reached (refused, reset, past its connect timeout) is set aside for
  ``RETRY_SECONDS`` and the read runs on the primary: a replica going down costs at most one
  connect timeout, and no read fails because of it. It comes back on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from apps.core.errors import DatabaseUnavailableError, PoolTimeoutError

if TYPE_CHECKING:
    from apps.core.engine import GatewayEngine

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

LAG_CHECK_SECONDS = 1.0
RETRY_SECONDS = 5.0

# The replay lag of a standby in seconds: 0 when it has replayed all it received, NULL on a
# node that is not in recovery (a primary, or a promoted standby: not a replica any more).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
    ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
END
"""

# What sends a read back to the primary: the node cannot be reached or its connection broke
# (a standby shutting down or starting up, a reset), or the standby cancelled the read (a
# conflict with recovery is SQLSTATE 40001). A mistake in the statement fails on the primary.
REPLICA_FAILURES: tuple[type[BaseException], ...] = (
    DatabaseUnavailableError,
    PoolTimeoutError,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.SerializationError,
)

_lag_tolerant: ContextVar[bool] = ContextVar("gatewaydb_lag_tolerant", default=False)
_primary_only: ContextVar[bool] = ContextVar("gatewaydb_read_your_writes", default=False)


def lag_tolerant(func: F) -> F:
    """Mark a selector whose reads may run on a replica (data up to the lag bound old)."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _lag_tolerant.set(True)
        try:
            return await func(*args, **kwargs)
        finally:
            _lag_tolerant.reset(token)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def read_your_writes() -> Iterator[None]:
    """Every read inside the block runs on the primary: it sees the writes made before it.

    Use it after a write whose result the next read must show::

        await campaign_update(campaign_id=cid, name="Spring")
        with read_your_writes():
            page = await campaign_list(user_id=uid)   # sees "Spring"
    """
    token = _primary_only.set(True)
    try:
        yield
    finally:
        _primary_only.reset(token)


def wants_replica() -> bool:
    """Whether a statement outside a transaction may run on a replica now."""
    return _lag_tolerant.get() and not _primary_only.get()


@dataclass
class Replica:
    """One standby node: its engine (own pool) and what is known of its health."""

    name: str
    engine: GatewayEngine
    down_until: float = 0.0
    lag_seconds: float | None = None
    lag_checked_at: float = float("-inf")
    reads: int = 0
    failures: int = 0
    checking: asyncio.Lock = field(default_factory=asyncio.Lock)


class ReplicaSet:
    """The replicas of one primary, picked round robin among the healthy ones."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        *,
        max_lag: float,
        lag_check_seconds: float = LAG_CHECK_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.replicas = list(replicas)
        self.max_lag = max_lag
        self.lag_check_seconds = lag_check_seconds
        self.retry_seconds = retry_seconds
        self._turn = itertools.cycle(range(len(self.replicas))) if self.replicas else None

    def __bool__(self) -> bool:
        return bool(self.replicas)

    async def pick(self) -> Replica | None:
        """A replica that is up and close enough behind the primary, or None."""
        if self._turn is None:
            return None
        now = time.monotonic()
        for _ in range(len(self.replicas)):
            replica = self.replicas[next(self._turn)]
            if replica.down_until > now:
                continue
            if now - replica.lag_checked_at >= self.lag_check_seconds:
                await self._check_lag(replica)
                if replica.down_until > time.monotonic():
                    continue
            if replica.lag_seconds is not None and replica.lag_seconds <= self.max_lag:
                return replica
        return None

    async def _check_lag(self, replica: Replica) -> None:
        if replica.checking.locked():
            return  # another caller is checking it; use what is known
        async with replica.checking:
            from apps.core.engine import Fetch

            try:
                lag = await replica.engine.run_pooled(LAG_SQL, (), Fetch.VALUE)
            except REPLICA_FAILURES:
                self.set_aside(replica)
                return
            replica.lag_seconds = None if lag is None else float(lag)
            replica.lag_checked_at = time.monotonic()

    def set_aside(self, replica: Replica) -> None:
        """``replica`` failed: reads go elsewhere for ``retry_seconds``."""
        replica.failures += 1
        replica.down_until = time.monotonic() + self.retry_seconds
        replica.lag_checked_at = float("-inf")

    async def start(self) -> None:
        """Open each replica's pool; one that is down now is set aside, not fatal."""
        for replica in self.replicas:
            try:
                await replica.engine.start_connection_pool()
            except DatabaseUnavailableError:
                self.set_aside(replica)

    async def close(self) -> None:
        for replica in self.replicas:
            await replica.engine.close_connection_pool()


async def run_on_replica(
    replicas: ReplicaSet, sql: str, args: tuple[Any, ...], fetch: Any, record_class: Any
) -> tuple[bool, Any]:
    """Run one read on a replica: ``(True, result)``, or ``(False, None)`` when none could
    take it (all down or lagging, or the one picked failed), for the caller to use the primary."""
    replica = await replicas.pick()
    if replica is None:
        return False, None
    try:
        result = await replica.engine.run_pooled(sql, args, fetch, record_class)
    except REPLICA_FAILURES:
        replicas.set_aside(replica)
        return False, None
    replica.reads += 1
    return True, result
