"""Reset a pooled connection only when it carries session state.

asyncpg's pool resets every connection it takes back (``SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL``): one more round trip after every query, which halves
the throughput of a point read. Almost every borrower changes nothing that outlives its
statement or transaction, so :class:`GatewayConnection` notes, from the text of each
statement it sends, whether the session may have been changed, and :func:`reset_connection`
(the pool's ``reset``) sends the full reset only then.

Statements that mark the session as changed (anywhere in a multi-statement string):
``SET`` (not ``SET LOCAL``, ``SET TRANSACTION`` or ``SET CONSTRAINTS``), ``RESET``,
``LISTEN``, ``PREPARE``, ``DECLARE`` (a cursor ``WITH HOLD`` outlives its transaction),
``DO`` blocks, ``LOAD``, ``set_config(..., false)`` (or with a non-literal third argument),
and the session-level advisory locks ``pg_advisory_lock``, ``pg_try_advisory_lock`` (and
their ``_shared`` forms). Transaction-scoped forms (``SET LOCAL``, ``set_config(..., true)``,
``pg_advisory_xact_lock``) end with their transaction and need nothing. An open transaction
is always rolled back by asyncpg before the reset runs. State changed from inside a
server-side function (PL/pgSQL calling ``set_config``) cannot be seen in the statement text:
code that does that must call :func:`mark_session_changed`. asyncpg's own
``set_config('jit', ...)`` around its type introspection is not counted: asyncpg restores
the setting itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from time import perf_counter
from typing import Any

import asyncpg

from apps.core import observability

_SESSION_STATEMENT = re.compile(
    r"(?:^|;)\s*(?:"
    r"SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)"
    r"|RESET\b|LISTEN\b|PREPARE\b|DECLARE\b|DO\b|LOAD\b"
    r")",
    re.IGNORECASE,
)
_SESSION_LOCK = re.compile(r"\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(", re.IGNORECASE)
_SET_CONFIG = re.compile(r"\bset_config\s*\(", re.IGNORECASE)
_LOCAL_SET_CONFIG_END = re.compile(r",\s*true\s*\)$", re.IGNORECASE)
# asyncpg turns jit off while it introspects a new type and sets it back right after.
_ASYNCPG_JIT_TOGGLE = re.compile(r"set_config\('jit', (?:'off'|\$1), false\)$")

# One verdict per distinct SQL text: services send a few hundred fixed statements.
_verdicts: dict[str, bool] = {}
_MAX_VERDICTS = 10_000


def _set_config_is_session(query: str) -> bool:
    """Whether some ``set_config(...)`` call in ``query`` is not literally transaction-local."""
    for match in _SET_CONFIG.finditer(query):
        depth, position = 1, match.end()
        while position < len(query) and depth:
            depth += {"(": 1, ")": -1}.get(query[position], 0)
            position += 1
        call = query[match.start() : position]
        if _LOCAL_SET_CONFIG_END.search(call) or _ASYNCPG_JIT_TOGGLE.match(call):
            continue
        return True
    return False


def changes_session(query: str) -> bool:
    """Whether ``query`` may leave state on the session that the next borrower would see."""
    verdict = _verdicts.get(query)
    if verdict is None:
        verdict = bool(
            _SESSION_STATEMENT.search(query)
            or _SESSION_LOCK.search(query)
            or _set_config_is_session(query)
        )
        if len(_verdicts) >= _MAX_VERDICTS:
            _verdicts.clear()
        _verdicts[query] = verdict
    return verdict


class GatewayConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that remembers whether its session may have been changed."""

    __slots__ = ("session_changed",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_changed = False

    # The timing hook. Each override is a plain function: with timing off it hands back
    # asyncpg's own coroutine (no extra coroutine frame per statement), with timing on the
    # timed coroutine below. Timed and counted under the current operation
    # (apps/core/observability.py); never the arguments.
    def execute(self, query: str, *args: Any, **kwargs: Any) -> Awaitable[str]:
        if changes_session(query):
            self.session_changed = True
        if args or not observability.config.enabled:
            return super().execute(query, *args, **kwargs)  # type: ignore[no-any-return]  # args: via _execute
        return self._timed_execute(query, kwargs)

    async def _timed_execute(self, query: str, kwargs: dict[str, Any]) -> str:
        started = perf_counter()
        try:
            result: str = await super().execute(query, **kwargs)
        except BaseException as error:
            observability.record_query_error(query, perf_counter() - started, error)
            raise
        observability.record_query(query, perf_counter() - started, 0)
        return result

    def _execute(self, query: str, args: Any, *rest: Any, **kwargs: Any) -> Awaitable[Any]:
        # Where fetch, fetchrow, fetchval and execute-with-arguments run.
        if not observability.config.enabled:
            return super()._execute(query, args, *rest, **kwargs)  # type: ignore[no-any-return]
        return self._timed(super()._execute(query, args, *rest, **kwargs), query, kwargs)

    def _executemany(self, query: str, args: Any, *rest: Any, **kw: Any) -> Awaitable[Any]:
        if not observability.config.enabled:
            return super()._executemany(query, args, *rest, **kw)  # type: ignore[no-any-return]
        return self._timed(super()._executemany(query, args, *rest, **kw), query, None)

    @staticmethod
    async def _timed(statement: Awaitable[Any], query: str, kwargs: dict[str, Any] | None) -> Any:
        started = perf_counter()
        try:
            result = await statement
        except BaseException as error:
            observability.record_query_error(query, perf_counter() - started, error)
            raise
        seconds = perf_counter() - started
        # executemany (no kwargs) returns the rows it returned (or None); _execute its rows,
        # or (rows, status, ...) when asked for the status.
        rows = result[0] if kwargs is not None and kwargs.get("return_status") else result
        observability.record_query(query, seconds, len(rows or ()))
        return result

    def _get_statement(self, query: str, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        # Every extended-protocol path (fetch*, executemany, prepare, cursor) comes here. A
        # plain function handing back asyncpg's coroutine: no extra coroutine per statement.
        if changes_session(query):
            self.session_changed = True
        statement: Awaitable[Any] = super()._get_statement(query, *args, **kwargs)
        return statement


def mark_session_changed(connection: asyncpg.Connection) -> None:
    """Make the pool reset ``connection`` on release (state changed out of sight)."""
    target = getattr(connection, "_con", connection)  # a pool's proxy holds the connection
    if isinstance(target, GatewayConnection):
        target.session_changed = True


async def reset_connection(connection: asyncpg.Connection) -> None:
    """The pool's ``reset``: asyncpg has already rolled back any open transaction and
    dropped client-side listeners; the server-side reset runs only for a changed session."""
    if not isinstance(connection, GatewayConnection) or connection.session_changed:
        await connection.execute(connection.get_reset_query())
        if isinstance(connection, GatewayConnection):
            connection.session_changed = False
