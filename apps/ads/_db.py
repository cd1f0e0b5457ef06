"""The connection the ads services and selectors run their SQL on.

Queries join the engine's current transaction when there is one (``async with
Campaign._meta.db.transaction():``, and the test harness's rolled-back transaction), and
otherwise borrow a pooled connection for the duration of the block, with the engine's pool
timeout. The hot paths send fixed SQL text, so asyncpg prepares each statement once per
connection and reuses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg

from apps.ads.tables import Campaign
from apps.core.db_errors import translate_errors
from apps.core.engine import GatewayEngine


def engine() -> GatewayEngine:
    """The engine the ads tables are bound to."""
    return cast(GatewayEngine, Campaign._meta.db)


@asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """The current transaction's connection, or a pooled one for the block.

    Database errors raised in the block come out as the project's typed errors.
    """
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is not None:
        async with translate_errors():
            yield transaction.connection
        return
    conn: Any = await db.acquire_connection()
    try:
        async with translate_errors():
            yield conn
    finally:
        if db.pool is not None:
            await db.pool.release(conn)
        else:
            await conn.close()


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One transaction (or the caller's, joined); errors, even at commit, come out typed."""
    async with translate_errors(), engine().transaction():
        yield
