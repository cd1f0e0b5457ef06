"""The connection the ads services and selectors run their SQL on.

Queries join the engine's current transaction when there is one (``async with
Campaign._meta.db.transaction():``, and the test harness's rolled-back transaction), and
otherwise borrow a pooled connection for the duration of the block, with the engine's pool
timeout. The hot paths send fixed SQL text, so asyncpg prepares each statement once per
connection and reuses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import cast

import asyncpg

from apps.ads.tables import Campaign
from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.core.engine import GatewayEngine


def engine() -> GatewayEngine:
    """The engine the ads tables are bound to."""
    return cast(GatewayEngine, Campaign._meta.db)


def connection() -> AbstractAsyncContextManager[asyncpg.Connection]:
    """The current transaction's connection, or a pooled one for the block (see
    :func:`apps.core.rawsql.connection`); errors in the block come out typed."""
    return rawsql.connection(engine())


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One transaction (or the caller's, joined); errors, even at commit, come out typed."""
    async with translate_errors(), engine().transaction():
        yield
