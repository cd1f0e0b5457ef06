"""Count the statements a call sends to the server, on every connection.

:func:`count_statements` patches asyncpg's ``Connection`` for the duration of a block and
records one entry per statement sent: a simple-protocol query (``execute`` without
arguments, which may hold several ``;``-separated commands, e.g. the pool's reset), one
extended-protocol execution (``fetch*``, ``execute`` with arguments), one per argument set
of ``executemany`` and one per COPY. asyncpg's own catalog lookups for type codecs (once
per connection and type) are not counted; warm a call up before pinning its count.

:func:`detached` runs a block outside the test's rolled-back transaction, so that a call
acquires, runs and releases a pooled connection exactly as in production (including the
pool's reset on release). Rows written there are committed: clean them up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from asyncpg.connection import Connection


@dataclass
class Statements:
    sent: list[str] = field(default_factory=list)
    # (sql, arguments) of each extended-protocol execution, for replaying the same SQL
    executed: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent)

    def __str__(self) -> str:
        return "\n".join(f"{n}: {' '.join(sql.split())[:160]}" for n, sql in enumerate(self.sent))


@contextmanager
def count_statements() -> Iterator[Statements]:
    """Record every statement sent on any asyncpg connection inside the block."""
    statements = Statements()
    original_execute = Connection.execute
    original_execute_ext = Connection._execute
    original_executemany = Connection._executemany
    original_copy_in = Connection._copy_in
    original_copy_records = Connection.copy_records_to_table
    original_copy_out = Connection._copy_out

    async def execute(self: Connection, query: str, *args: Any, timeout: Any = None) -> Any:  # noqa: ASYNC109
        if not args:
            statements.sent.append(query)
        return await original_execute(self, query, *args, timeout=timeout)

    async def _execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.sent.append(query)
        statements.executed.append((query, tuple(args[0]) if args else ()))
        return await original_execute_ext(self, query, *args, **kwargs)

    async def _executemany(self: Connection, query: str, args: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        arg_sets = list(args)
        statements.sent.extend(query for _ in arg_sets)
        return await original_executemany(self, query, arg_sets, timeout)

    async def _copy_in(self: Connection, copy_stmt: str, *args: Any) -> Any:
        statements.sent.append(copy_stmt)
        return await original_copy_in(self, copy_stmt, *args)

    async def copy_records_to_table(self: Connection, table: str, **kwargs: Any) -> Any:
        statements.sent.append(f"COPY {table} FROM STDIN")
        return await original_copy_records(self, table, **kwargs)

    async def _copy_out(self: Connection, copy_stmt: str, *args: Any) -> Any:
        statements.sent.append(copy_stmt)
        return await original_copy_out(self, copy_stmt, *args)

    patches = {
        "execute": execute,
        "_execute": _execute,
        "_executemany": _executemany,
        "_copy_in": _copy_in,
        "copy_records_to_table": copy_records_to_table,
        "_copy_out": _copy_out,
    }
    originals = {name: getattr(Connection, name) for name in patches}
    for name, function in patches.items():
        setattr(Connection, name, function)
    try:
        yield statements
    finally:
        for name, function in originals.items():
            setattr(Connection, name, function)


@asynccontextmanager
async def detached() -> AsyncIterator[None]:
    """Run the block outside the test's transaction (calls borrow from the pool)."""
    from piccolo_conf import DB

    token = DB.current_transaction.set(None)
    try:
        yield
    finally:
        DB.current_transaction.reset(token)


async def sends(call: Any, *, warm_up: bool = True) -> Statements:
    """The statements ``await call()`` sends (after one warm-up call that primes caches)."""
    if warm_up:
        await call()
    with count_statements() as statements:
        await call()
    return statements
