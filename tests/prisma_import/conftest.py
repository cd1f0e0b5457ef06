"""A Prisma-era source database on the test server, filled the way the old platform did."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from tests.conftest import admin_execute, database_url
from tests.fixtures.prisma_rows import create_prisma_database

SOURCE_TEMPLATE = "prisma_era_template"
SOURCE_VOLUME = 2000


@pytest.fixture(scope="session")
async def prisma_template() -> AsyncIterator[str]:
    """A Prisma-era database, built once; each test gets a clone of it."""
    await admin_execute(
        f"DROP DATABASE IF EXISTS {SOURCE_TEMPLATE}", f"CREATE DATABASE {SOURCE_TEMPLATE}"
    )
    connection = await asyncpg.connect(parse_database_url(database_url(SOURCE_TEMPLATE)).dsn)
    try:
        await create_prisma_database(connection, volume=SOURCE_VOLUME)
    finally:
        await connection.close()
    yield SOURCE_TEMPLATE
    await admin_execute(f"DROP DATABASE IF EXISTS {SOURCE_TEMPLATE} WITH (FORCE)")


@pytest.fixture
async def source_url(prisma_template: str) -> AsyncIterator[str]:
    """URL of a fresh clone of the Prisma-era database, dropped afterwards."""
    name = f"prisma_src_{uuid.uuid4().hex[:12]}"
    await admin_execute(f"CREATE DATABASE {name} TEMPLATE {prisma_template}")
    yield database_url(name)
    await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def source(source_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's own Prisma-era database."""
    connection = await asyncpg.connect(parse_database_url(source_url).dsn)
    yield connection
    await connection.close()


@pytest.fixture
async def target() -> asyncpg.Connection:
    """The connection of the test's transaction: imports land there and are rolled back."""
    from piccolo_conf import DB

    transaction = DB.current_transaction.get()
    assert transaction is not None
    connection: asyncpg.Connection = transaction.connection
    return connection
