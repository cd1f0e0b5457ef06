"""Dedicated connections for the lifecycle commands, outside any pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from piccolo.engine import engine_finder

from apps.core.engine import GatewayEngine
from apps.core.errors import ConfigurationError


def project_engine() -> GatewayEngine:
    """The engine of ``piccolo_conf`` (the one ``PICCOLO_CONF`` names)."""
    engine = engine_finder()
    if not isinstance(engine, GatewayEngine):
        raise ConfigurationError("piccolo_conf.py must define DB = build_engine()")
    return engine


@asynccontextmanager
async def dedicated_connection() -> AsyncIterator[asyncpg.Connection]:
    """A new connection (with the configured connect timeout), closed afterwards."""
    connection = await project_engine().get_new_connection()
    try:
        yield connection
    finally:
        await connection.close()
