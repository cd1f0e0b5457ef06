"""The one place that builds database engines.

:class:`GatewayEngine` is Piccolo's ``PostgresEngine`` with what production needs and Piccolo
leaves out: a bounded wait for a pooled connection (``pool_timeout``), connection errors
turned into :class:`DatabaseUnavailableError`, and the pgvector codec on every connection.
Future observability (query timing, pool gauges) and read replicas plug in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from apps.core import observability
from apps.core.db_errors import translate
from apps.core.dburl import DatabaseUrl, parse_database_url
from apps.core.embedded import DATABASE_NAME, start_embedded_server
from apps.core.errors import ConfigurationError, DatabaseUnavailableError, PoolTimeoutError
from apps.core.replicas import Replica, ReplicaSet
from apps.core.session_state import GatewayConnection, reset_connection
from apps.core.settings import Settings, get_settings
from apps.core.vectors import register_vector_codecs

# Errors asyncpg raises when a connection cannot be made or the login is refused.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)

# What asyncpg raises on a connection that broke under it. InternalClientError ("cannot
# switch to state 12; another operation (2) is in progress") comes from a connection whose
# backend died while it sat idle: the server's last FATAL message put the protocol in its
# error state before the socket's end was read, and the next statement finds it so.
BROKEN_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def broken_connection_error(error: BaseException) -> DatabaseUnavailableError:
    """The typed error for a connection that broke (see BROKEN_CONNECTION_ERRORS)."""
    return DatabaseUnavailableError(f"the database connection failed: {error}")


# The longest close_connection_pool() waits for busy connections before terminating them.
POOL_CLOSE_SECONDS = 10.0


class Fetch(enum.Enum):
    """What :meth:`GatewayEngine.execute_statement` returns: every row, the first, or a value."""

    ROWS = "fetch"
    ROW = "fetchrow"
    VALUE = "fetchval"


def _take_idle_holder(pool: asyncpg.Pool) -> Any:
    """An idle, connected pool holder marked in use without waiting, or None.

    What ``pool.acquire()`` does when a connection is free, without its layers of
    coroutines and timeout machinery. Only when nobody is waiting (a waiter keeps its turn)
    and the connection needs nothing (not closed, not expired, no ``setup`` callback);
    otherwise the pool's own path runs. The holder's connection has no proxy: a caller
    that hands it out wraps it (:func:`_take_idle`).
    """
    queue = pool._queue
    holders = queue._queue  # the LifoQueue's deque: a connected holder is handed out first
    if pool._closing or not pool._initialized or queue._getters or not holders:
        return None
    holder = holders.pop()
    con = holder._con
    if (
        con is None
        or con.is_closed()
        or holder._generation != pool._generation
        or holder._setup is not None
    ):
        holders.append(holder)
        return None
    if holder._inactive_callback is not None:
        holder._maybe_cancel_inactive_callback()
    holder._in_use = pool._loop.create_future()
    holder._timeout = None
    return holder


def _take_idle(pool: asyncpg.Pool) -> PoolConnectionProxy | None:
    """An idle pooled connection (behind the pool's proxy) taken without waiting, or None."""
    holder = _take_idle_holder(pool)
    if holder is None:
        return None
    holder._proxy = proxy = PoolConnectionProxy(holder, holder._con)
    return proxy


def _give_back(pool: asyncpg.Pool, proxy: Any) -> bool:
    """Return a clean connection to ``pool`` at once; False when the pool's path must run.

    ``pool.release()`` runs the release in a task shielded from cancellation (one task per
    query) to roll back, reset and requeue. A connection outside any transaction, without
    listeners, whose session did not change (apps/core/session_state.py) and that the pool
    keeps (not expired, not over its query limit, no cancellation pending) needs none of
    that: it is requeued here, synchronously, so there is nothing a cancellation could
    interrupt. Everything else takes the pool's path, which resets or closes it.
    """
    if type(proxy) is not PoolConnectionProxy:
        return False
    holder = proxy._holder
    if holder._pool is not pool:
        return False
    return _requeue(pool, holder, proxy._con)


def _requeue(pool: asyncpg.Pool, holder: Any, con: Any) -> bool:
    """:func:`_give_back` for a holder taken by :func:`_take_idle_holder` (any proxy is
    detached); False, with nothing done, when the pool's path must run."""
    if con is None or holder._in_use is None or holder._con is not con:
        return False
    if (
        type(con) is not GatewayConnection
        or con.session_changed
        or pool._closing
        or con._top_xact is not None
        or con._listeners
        or con._log_listeners
        or con.is_closed()
    ):
        return False
    protocol = con._protocol
    if (
        protocol.is_in_transaction()
        or protocol._is_cancelling()
        or protocol.queries_count >= holder._max_queries
        or holder._generation != pool._generation
    ):
        return False
    con._pool_release_ctr += 1  # what Connection._on_release() does besides listener warnings
    holder._timeout = None
    # What holder._release() does, without the queue's Python layers when nobody waits.
    in_use = holder._in_use
    if not in_use.done():
        in_use.set_result(None)
    holder._in_use = None
    proxy = holder._proxy
    if proxy is not None:
        proxy._detach()
        holder._proxy = None
    queue = pool._queue
    if queue._getters:
        queue.put_nowait(holder)  # wakes the first waiter
    else:
        queue._queue.append(holder)
        queue._unfinished_tasks += 1
    minimum = pool._minsize
    if minimum < pool._maxsize and sum(h._con is not None for h in pool._holders) > minimum:
        # The inactivity timer closes a connection idle too long, but only while the pool
        # is above its minimum size; at or below it, asyncpg's timer callback does nothing.
        # Arming it on every release (a timer handle that outlives the call) cost more CPU
        # than the rest of the release, through the garbage collector (see
        # docs/PERFORMANCE.md), so a connection the pool keeps anyway gets none.
        holder._setup_inactive_callback()
    return True


def _raw(connection: asyncpg.Connection) -> asyncpg.Connection:
    """The connection behind a pool's proxy (a released proxy is returned as it is)."""
    if type(connection) is PoolConnectionProxy:
        return connection._con or connection
    return connection


def _is_client_side(error: BaseException) -> bool:
    """An error after which the connection is still in a known state."""
    # asyncpg's DataError (an argument it cannot encode) is raised before anything is sent.
    return isinstance(error, asyncpg.PostgresError) or (
        isinstance(error, asyncpg.InterfaceError) and isinstance(error, ValueError)
    )


async def init_connection(connection: asyncpg.Connection) -> None:
    """Register the pgvector codec when the extension exists (it may not before migrating)."""
    schema = await connection.fetchval(
        "SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'vector' LIMIT 1"
    )
    if schema is not None:
        await register_vector_codecs(connection, schema=schema)


class GatewayTransaction(PostgresTransaction):
    """A transaction whose connection comes from the pool with the pool timeout.

    Piccolo's ``__aexit__`` leaves ``current_transaction`` set when the commit or rollback
    itself raises (a terminated backend, a restarted server): the task, and every task it
    creates, would keep reusing the dead connection. Here the state is always cleared and
    a connection that failed is terminated, never handed back to the pool.
    """

    async def get_connection(self) -> asyncpg.Connection:
        engine = self.engine
        assert isinstance(engine, GatewayEngine)
        return await engine.acquire_connection()

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        self.transaction = self.connection.transaction()
        try:
            await self.begin()
        except BaseException as error:
            await self._release(broken=True)
            if isinstance(error, asyncpg.exceptions.InternalClientError):
                raise broken_connection_error(error) from error
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        broken = True
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            broken = False
        except (asyncpg.PostgresError, *BROKEN_CONNECTION_ERRORS) as error:
            if exception is not None:
                # The rollback of a failed block failed too (the connection is gone, which
                # rolls it back anyway): the block's own error is the one to report, typed
                # when the driver raised it raw (a Piccolo query inside the block).
                if isinstance(exception, asyncpg.exceptions.InternalClientError):
                    raise broken_connection_error(exception) from exception
                return False
            if isinstance(error, asyncpg.PostgresError):
                raise translate(error) from error
            raise DatabaseUnavailableError(
                f"the connection failed at COMMIT, the transaction was not acknowledged: {error}"
            ) from error
        finally:
            self._clear_current()
            await self._release(broken=broken)
        return exception is None

    def _clear_current(self) -> None:
        try:
            self.engine.current_transaction.reset(self.context)
        except ValueError:
            # Exited in another context than it was entered in (a test fixture's teardown):
            # the token cannot be used there, but the state must still go.
            self.engine.current_transaction.set(None)

    async def _release(self, *, broken: bool) -> None:
        engine = self.engine
        assert isinstance(engine, GatewayEngine)
        await engine.release_connection(self.connection, broken=broken)


class GatewayEngine(PostgresEngine):
    """PostgresEngine with pool timeout, typed connection errors and the vector codec."""

    node_name: str
    has_replicas: bool = False

    def __init__(
        self,
        *,
        url: DatabaseUrl | Callable[[], DatabaseUrl],
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        pool_timeout: float | None = 10.0,
        log_queries: bool = False,
        node: str = "primary",
        replicas: Sequence[GatewayEngine] = (),
        replica_max_lag: float = 5.0,
    ) -> None:
        # ``url`` may be a function: it is called when a connection is first needed (the
        # embedded server starts then, not when piccolo_conf is imported for `--help`).
        self._url = url if isinstance(url, DatabaseUrl) else None
        self._resolve_url = None if isinstance(url, DatabaseUrl) else url
        self.pool_min_size = min(pool_min_size, pool_max_size)
        self.pool_max_size = pool_max_size
        self.pool_timeout = pool_timeout
        # Acquirers inside the pool's own (waiting) path; the fast path leaves them first.
        self._waiting = 0
        config = url.asyncpg_arguments() if isinstance(url, DatabaseUrl) else None
        # Piccolo's extra_nodes: a Piccolo query runs on a replica with .run(node="replica-1").
        extra_nodes: dict[str, GatewayEngine] = {replica.node_name: replica for replica in replicas}
        super().__init__(
            config=config or {"database": DATABASE_NAME},
            log_queries=log_queries,
            extra_nodes=extra_nodes,
        )
        self._config = config
        self.node_name = node
        self.pool_stats = observability.PoolStats(node)
        self.replicas = ReplicaSet(
            [Replica(name=name, engine=engine) for name, engine in extra_nodes.items()],
            max_lag=replica_max_lag,
        )
        observability.watch_pool(self)

    @property
    def replicas(self) -> ReplicaSet:
        """The read replicas (empty without ``DATABASE_REPLICA_URLS``)."""
        return self._replicas

    @replicas.setter
    def replicas(self, value: ReplicaSet) -> None:
        self._replicas = value
        # Read before every pooled statement (apps/core/rawsql.py): a plain attribute rather
        # than ReplicaSet.__bool__, a Python call.
        self.has_replicas = bool(value)

    @property
    def callers_waiting(self) -> int:
        """Callers waiting in the pool's own path for a connection right now."""
        return self._waiting

    @property
    def url(self) -> DatabaseUrl:
        """The database's URL; the first use of a lazy engine resolves it (starts a server)."""
        if self._url is None:
            assert self._resolve_url is not None
            self._url = self._resolve_url()
            self._config = self._url.asyncpg_arguments()
        return self._url

    @property
    def config(self) -> dict[str, Any]:
        """asyncpg's connect arguments (resolving a lazy engine's URL first)."""
        if self._config is None:
            self._config = self.url.asyncpg_arguments()
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._config = value

    async def check_version(self) -> None:
        """Piccolo connects while the engine is built, to warn about old servers; this engine
        does not touch the network until it is used (importing piccolo_conf stays cheap and
        an unreachable server is reported by the first query, as a typed error)."""

    async def prep_database(self) -> None:
        """Extensions are created by migrations, not when the engine is built."""

    def _unavailable(self, error: BaseException) -> DatabaseUnavailableError:
        reason = str(error) or type(error).__name__
        if isinstance(error, asyncio.TimeoutError):
            reason = "timed out"
        self.pool_stats.connection_failed()
        return DatabaseUnavailableError(
            f"cannot connect to the database at {self.url.redacted}: {reason}"
        )

    async def start_connection_pool(self, **kwargs: Any) -> None:
        options: dict[str, Any] = {
            "min_size": self.pool_min_size,
            "max_size": self.pool_max_size,
            "init": init_connection,
            # Reset a released connection only when its session was changed (SET, LISTEN,
            # advisory locks...): see apps/core/session_state.py.
            "connection_class": GatewayConnection,
            "reset": reset_connection,
        }
        options.update(kwargs)
        try:
            await super().start_connection_pool(**options)
        except CONNECT_ERRORS as error:
            raise self._unavailable(error) from error
        await self.replicas.start()

    async def get_new_connection(self) -> asyncpg.Connection:
        try:
            connection = await asyncpg.connect(**self.config, connection_class=GatewayConnection)
        except CONNECT_ERRORS as error:
            raise self._unavailable(error) from error
        try:
            await init_connection(connection)
        except BaseException as error:
            # A half set-up connection is never handed out, nor left open.
            connection.terminate()
            if isinstance(error, Exception):
                raise DatabaseUnavailableError(
                    f"a new connection to {self.url.redacted} failed its set-up: "
                    f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
                ) from error
            raise
        return connection

    def _describe_pool_timeout(self) -> str:
        if not self.pool_timeout:
            return "no limit"
        return f"{self.pool_timeout:g} s"

    async def acquire_connection(self) -> asyncpg.Connection:
        """A pooled connection within ``pool_timeout`` (or a new one when there is no pool).

        Waiting for a free slot past ``pool_timeout`` is a :class:`PoolTimeoutError`; the
        pool opening a connection that cannot be made (its connect timeout included) is a
        :class:`DatabaseUnavailableError`.
        """
        pool = self.pool
        if pool is None:
            return await self.get_new_connection()
        if not self._waiting:
            # Nobody waits (a waiter woken by a release has not run yet but keeps its turn).
            idle = _take_idle(pool)
            if idle is not None:
                return idle
        deadline = asyncio.timeout(self.pool_timeout or None)
        started = self.pool_stats.acquire_started()
        others_waiting = self._waiting
        self._waiting += 1
        try:
            # asyncio.timeout() rather than acquire(timeout=...): asyncpg implements the
            # latter with wait_for, a task per acquire (about 30 us on every query).
            async with deadline:
                if others_waiting:
                    # A waiter a release just woke runs first and takes its connection
                    # (asyncio's queue would let this newcomer take it from under it).
                    await asyncio.sleep(0)
                connection = await pool.acquire()
        except TimeoutError as error:
            self.pool_stats.acquire_failed(started, timed_out=deadline.expired())
            if not deadline.expired():
                # The pool grows on demand: this is the connect timeout of a new connection.
                raise self._unavailable(error) from error
            raise PoolTimeoutError(
                f"no database connection became free within {self._describe_pool_timeout()} "
                f"(pool size {self.pool_max_size}); raise connection_limit or pool_timeout"
            ) from None
        except BaseException as error:
            self.pool_stats.acquire_failed(started, timed_out=False)
            if isinstance(error, CONNECT_ERRORS):
                raise self._unavailable(error) from error
            raise
        finally:
            self._waiting -= 1
        self.pool_stats.acquire_finished(started)
        return connection

    async def release_connection(
        self, connection: asyncpg.Connection, *, broken: bool = False
    ) -> None:
        """Give ``connection`` back, or terminate it when it is broken: never reuse a bad one.

        A connection whose reset fails on release (asyncpg raises InternalClientError for a
        connection broken mid-protocol) is terminated too, which frees its pool slot.
        """
        pool = self.pool
        if not broken and pool is not None and _give_back(pool, connection):
            return
        if isinstance(connection, PoolConnectionProxy) and connection._con is None:
            return  # it closed, and asyncpg already gave its slot back
        if broken or connection.is_closed():
            connection.terminate()
            return
        if self.pool is None:
            try:
                await connection.close(timeout=POOL_CLOSE_SECONDS)
            except Exception:
                connection.terminate()
            return
        try:
            await self.pool.release(connection)
        except Exception:
            if not (isinstance(connection, PoolConnectionProxy) and connection._con is None):
                connection.terminate()

    async def close_connection_pool(self) -> None:
        """Close the pool, terminating what is still busy after ``POOL_CLOSE_SECONDS``."""
        await self.replicas.close()
        pool = self.pool
        if pool is None:
            return
        try:
            async with asyncio.timeout(POOL_CLOSE_SECONDS):
                await pool.close()
        except Exception:
            pool.terminate()
        finally:
            self.pool = None

    def execute_statement(
        self,
        connection: asyncpg.Connection,
        sql: str,
        args: Sequence[Any],
        fetch: Fetch,
        record_class: type[Any] | None = None,
    ) -> Awaitable[Any]:
        """Run one statement on ``connection`` (await the result): the single place every
        statement of :mod:`apps.core.rawsql` and of Piccolo's pooled queries is executed
        (the point to wrap for query timing). asyncpg prepares ``sql`` once per connection
        (its statement cache) and reuses the prepared statement on every later call.

        A plain function handing back asyncpg's coroutine: no coroutine of its own per
        statement.
        """
        raw = _raw(connection)
        if fetch is Fetch.ROWS:
            return raw.fetch(sql, *args, record_class=record_class)  # type: ignore[no-any-return]
        if fetch is Fetch.ROW:
            return raw.fetchrow(sql, *args, record_class=record_class)  # type: ignore[no-any-return]
        return raw.fetchval(sql, *args)  # type: ignore[no-any-return]

    async def run_pooled(
        self,
        sql: str,
        args: Sequence[Any],
        fetch: Fetch = Fetch.ROWS,
        record_class: type[Any] | None = None,
    ) -> Any:
        """Acquire a connection, run one statement, release it (or terminate it when the
        statement failed in a way that leaves the connection in an unknown state).

        The fast path (an idle connection, nobody waiting, nothing to reset) runs the
        statement on the pool holder's connection without a proxy, an acquire or a release
        coroutine; anything else takes :meth:`acquire_connection` and
        :meth:`release_connection`.
        """
        pool = self.pool
        holder = None
        if pool is not None and not self._waiting:
            holder = _take_idle_holder(pool)
        connection = holder._con if holder is not None else await self.acquire_connection()
        broken = True
        try:
            result = await self.execute_statement(connection, sql, args, fetch, record_class)
            broken = False
            return result
        except BaseException as error:
            broken = not _is_client_side(error)
            if isinstance(error, asyncpg.exceptions.InternalClientError):
                raise broken_connection_error(error) from error
            raise
        finally:
            if holder is None:
                await self.release_connection(connection, broken=broken)
            elif broken or not _requeue(pool, holder, connection):
                if holder._in_use is not None and holder._con is connection:
                    # The pool's path (reset, rollback, close) takes a proxy.
                    holder._proxy = PoolConnectionProxy(holder, connection)
                    await self.release_connection(holder._proxy, broken=broken)
                elif broken:
                    connection.terminate()

    @contextlib.contextmanager
    def connecting_as(self, url: DatabaseUrl) -> Iterator[None]:
        """Open every new connection to ``url`` inside the block (the lifecycle commands use
        the migration role this way: Piccolo's migrations run on this engine). Refused while
        a pool is open, whose connections would still be the old role's."""
        if self.pool is not None:
            raise ConfigurationError("the engine cannot switch roles while its pool is open")
        saved = (self._url, self._resolve_url, self._config)
        self._url, self._resolve_url, self._config = url, None, url.asyncpg_arguments()
        try:
            yield
        finally:
            self._url, self._resolve_url, self._config = saved

    async def _run_in_pool(self, query: str, args: Sequence[Any] | None = None) -> Any:
        if self.pool is None:
            raise ValueError("A pool isn't currently running.")
        return await self.run_pooled(query, args or ())

    def transaction(self, allow_nested: bool = True) -> GatewayTransaction:
        return GatewayTransaction(engine=self, allow_nested=allow_nested)


def resolve_database_url(settings: Settings) -> str:
    """``DATABASE_URL``, or the URL of the embedded server (started if needed)."""
    if settings.database_url:
        return settings.database_url
    if _in_piccolo_startup_check() and not (settings.data_dir / "postmaster.pid").exists():
        # `piccolo <anything>` looks for unapplied migrations before it even parses its
        # arguments (and ignores errors): that alone must not start a server.
        raise DatabaseUnavailableError("the embedded PostgreSQL is not running")
    return start_embedded_server(settings.data_dir)


def _in_piccolo_startup_check() -> bool:
    """True inside the unapplied-migrations check ``piccolo.main`` runs before any command."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "havent_ran_count" and "piccolo" in code.co_filename:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def build_engine(settings: Settings | None = None) -> GatewayEngine:
    """The engine for the configured database; URL parameters win over the settings."""
    settings = settings or get_settings()
    observability.configure(enabled=settings.metrics_enabled, slow_query_ms=settings.slow_query_ms)

    def with_timeout(url: DatabaseUrl) -> DatabaseUrl:
        if url.connect_timeout is None and settings.connect_timeout:
            return dataclasses.replace(url, connect_timeout=settings.connect_timeout)
        return url

    if not settings.database_url:
        # The embedded server: started when a command first needs a connection.
        return GatewayEngine(
            url=lambda: with_timeout(parse_database_url(resolve_database_url(settings))),
            pool_min_size=settings.pool_min_size,
            pool_max_size=settings.pool_max_size,
            pool_timeout=settings.pool_timeout or None,
            log_queries=settings.log_queries,
        )
    url = parse_database_url(settings.database_url)
    pool_timeout = url.pool_timeout if url.pool_timeout is not None else settings.pool_timeout
    return GatewayEngine(
        url=with_timeout(url),
        pool_min_size=settings.pool_min_size,
        pool_max_size=url.pool_max_size or settings.pool_max_size,
        pool_timeout=pool_timeout or None,
        log_queries=settings.log_queries,
        replicas=[
            _replica_engine(settings, with_timeout(replica), number, default_timeout=pool_timeout)
            for number, replica in enumerate(replica_urls(settings), start=1)
        ],
        replica_max_lag=settings.database_replica_max_lag,
    )


def replica_urls(settings: Settings) -> list[DatabaseUrl]:
    """The parsed ``DATABASE_REPLICA_URLS`` (a bad one is a ConfigurationError naming it)."""
    urls = []
    raw = settings.database_replica_urls or ""
    for number, text in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not text:
            continue
        try:
            urls.append(parse_database_url(text))
        except ConfigurationError as error:
            raise ConfigurationError(
                f"DATABASE_REPLICA_URLS, URL {number}: {error.message}",
                field="DATABASE_REPLICA_URLS",
                rule=error.rule,
            ) from None
    return urls


def _replica_engine(
    settings: Settings, url: DatabaseUrl, number: int, *, default_timeout: float | None
) -> GatewayEngine:
    # A replica's pool opens no connection until a read needs one: a standby that is down
    # when the app starts costs nothing until then.
    return GatewayEngine(
        url=url,
        pool_min_size=0,
        pool_max_size=url.pool_max_size or settings.pool_max_size,
        pool_timeout=(url.pool_timeout if url.pool_timeout is not None else default_timeout)
        or None,
        log_queries=settings.log_queries,
        node=f"replica-{number}",
    )
