"""Test session: a throwaway embedded PostgreSQL, migrated once, one transaction per test.

The server lives in a temporary directory and is deleted at the end. The schema is built by
the real ``piccolo migrations forwards all`` into a template database; tests run against a
clone of it, each inside a transaction rolled back at the end, so a test sees only its own
rows. Tests that need their own database (migrations, configuration) clone or create one.

This module sets ``DATABASE_URL`` before anything imports ``piccolo_conf``: Piccolo binds the
tables to the engine of ``piccolo_conf`` on first use.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from apps.core.embedded import start_embedded_server, stop_embedded_server

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DATABASE = "gatewaydb_template"
TEST_DATABASE = "gatewaydb_test"

# A short path: the server's unix socket path must stay under 107 bytes.
_WORK_DIR = Path(tempfile.mkdtemp(prefix="gwdb-"))
_DATA_DIR = _WORK_DIR / "pg"
# Registered before the server starts, so it runs after the server's own exit hook (which
# stops it): even a run that fails while collecting leaves nothing behind.
atexit.register(shutil.rmtree, _WORK_DIR, True)
SERVER_URL = start_embedded_server(_DATA_DIR, database="postgres", cleanup="delete")


def database_url(name: str) -> str:
    """URL of database ``name`` on the test server."""
    return SERVER_URL.replace("/postgres?", f"/{name}?", 1)


def run_piccolo(*args: str, url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``piccolo`` CLI against ``url``."""
    env = {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test"}
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"piccolo {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


async def admin_execute(*statements: str) -> None:
    """Run statements on the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    connection = await asyncpg.connect(parse_database_url(SERVER_URL).dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _prepare_databases() -> None:
    import asyncio

    asyncio.run(admin_execute(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    run_piccolo("migrations", "forwards", "all", url=database_url(TEMPLATE_DATABASE))
    asyncio.run(admin_execute(f"CREATE DATABASE {TEST_DATABASE} TEMPLATE {TEMPLATE_DATABASE}"))
    # The server preloads pg_stat_statements (apps/core/pg_contrib.py); the test database has
    # the extension, the template and its clones do not (`piccolo db stats` tells both apart).
    asyncio.run(_create_statements_extension())


async def _create_statements_extension() -> None:
    connection = await asyncpg.connect(parse_database_url(database_url(TEST_DATABASE)).dsn)
    try:
        libraries = await connection.fetchval("SHOW shared_preload_libraries")
        if "pg_stat_statements" in libraries:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await connection.close()


_prepare_databases()
os.environ["DATABASE_URL"] = database_url(TEST_DATABASE)
# `make test-pgbouncer`: the suite's own connections go through a real PgBouncer in
# transaction pooling mode (tests/scaling/pgbouncer.py); the set-up above stays direct.
if os.environ.get("TEST_VIA_PGBOUNCER") == "1":
    from tests.scaling.pgbouncer import Bouncer

    _bouncer = Bouncer(SERVER_URL)
    _bouncer.start()
    atexit.register(_bouncer.stop)
    os.environ["DATABASE_URL"] = _bouncer.url(TEST_DATABASE)
    BOUNCER: Bouncer | None = _bouncer
else:
    BOUNCER = None
os.environ["GATEWAYDB_ENVIRONMENT"] = "test"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_embedded_server(_DATA_DIR)
    shutil.rmtree(_WORK_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[object]:
    """The project's engine (from ``piccolo_conf``) with its pool open for the session."""
    from piccolo_conf import DB

    await DB.start_connection_pool()
    yield DB
    await DB.close_connection_pool()


@pytest.fixture(autouse=True)
async def isolated(engine: object) -> AsyncIterator[None]:
    """Every test runs in a transaction that is rolled back: it sees only its own rows."""
    from piccolo_conf import DB

    transaction = DB.transaction()
    await transaction.__aenter__()
    try:
        yield
    finally:
        await transaction.rollback()
        await transaction.__aexit__(None, None, None)


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Run a block that may fail without aborting the test's transaction."""
    from piccolo_conf import DB

    transaction = DB.current_transaction.get()
    assert transaction is not None, "savepoint() needs the test transaction"
    point = await transaction.savepoint()
    try:
        yield
    except BaseException:
        await point.rollback_to()
        raise
    else:
        await point.release()


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    """An empty database of its own (no migrations applied); dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    await admin_execute(f"CREATE DATABASE {name}")
    yield database_url(name)
    await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def migrated_database() -> AsyncIterator[str]:
    """A fresh clone of the migrated template, for tests that must commit."""
    name = f"migrated_{uuid.uuid4().hex[:12]}"
    await admin_execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    yield database_url(name)
    await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
