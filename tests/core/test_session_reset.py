"""The pool resets a released connection only when its session was changed, and then fully."""

import os
from collections.abc import AsyncIterator

import pytest
from piccolo.querystring import QueryString

from apps.core.dburl import parse_database_url
from apps.core.engine import GatewayEngine
from apps.core.session_state import changes_session, mark_session_changed
from apps.users.tables import User
from tests.core.statements import count_statements, detached


@pytest.fixture
async def one_connection_engine() -> AsyncIterator[GatewayEngine]:
    """An engine of its own whose pool holds one connection: every borrower gets the same."""
    engine = GatewayEngine(
        url=parse_database_url(os.environ["DATABASE_URL"]), pool_min_size=1, pool_max_size=1
    )
    await engine.start_connection_pool()
    yield engine
    await engine.close_connection_pool()


async def _session_snapshot(engine: GatewayEngine) -> dict[str, object]:
    rows = await engine.run_querystring(
        QueryString(
            "SELECT pg_backend_pid() AS pid, current_setting('work_mem') AS work_mem, "
            "NULLIF(current_setting('gateway.test', true), '') AS custom, "
            "(SELECT count(*) FROM pg_listening_channels()) AS channels, "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            " AND pid = pg_backend_pid()) AS advisory_locks, "
            "(SELECT count(*) FROM pg_cursors WHERE is_holdable) AS cursors"
        )
    )
    return dict(rows[0])


async def test_no_session_state_leaks_to_the_next_borrower(
    one_connection_engine: GatewayEngine,
) -> None:
    engine = one_connection_engine
    # given a pristine session as the first borrower sees it
    before = await _session_snapshot(engine)
    assert (before["channels"], before["advisory_locks"], before["cursors"]) == (0, 0, 0)
    # when a borrower changes the session in every way asyncpg's reset undoes
    assert engine.pool is not None
    async with engine.pool.acquire() as conn:
        await conn.execute("SET work_mem = '77MB'")
        await conn.fetchval("SELECT set_config('gateway.test', 'leaked', false)")
        await conn.execute("LISTEN gateway_test_channel")
        await conn.fetchval("SELECT pg_advisory_lock(4242)")
        async with conn.transaction():
            await conn.execute("DECLARE held CURSOR WITH HOLD FOR SELECT 1")
    # then the next borrower (the same backend) sees none of it
    after = await _session_snapshot(engine)
    assert after["pid"] == before["pid"]
    assert after == before


@pytest.mark.parametrize(
    "statement",
    [
        "SET search_path = pg_catalog",
        "SELECT set_config('gateway.test', 'leaked', false)",
        "LISTEN gateway_test_channel",
        "SELECT pg_try_advisory_lock(4242)",
    ],
)
async def test_each_kind_of_change_is_reset_on_its_own(
    one_connection_engine: GatewayEngine, statement: str
) -> None:
    engine = one_connection_engine
    before = await _session_snapshot(engine)
    assert engine.pool is not None
    async with engine.pool.acquire() as conn:
        await conn.execute(statement)
    assert await _session_snapshot(engine) == before
    assert (await engine.run_querystring(QueryString("SHOW search_path")))[0][
        "search_path"
    ] != "pg_catalog"


async def test_a_marked_connection_is_reset_and_a_clean_one_is_not(
    one_connection_engine: GatewayEngine,
) -> None:
    engine = one_connection_engine
    assert engine.pool is not None
    # given a function that changes the session where the statement text cannot show it
    async with engine.pool.acquire() as conn:
        await conn.execute(
            "CREATE OR REPLACE FUNCTION pg_temp.hidden_set() RETURNS void LANGUAGE sql "
            "AS $$ SELECT set_config('gateway.test', 'hidden', false) $$"
        )
    with count_statements() as statements:
        async with engine.pool.acquire() as conn:
            await conn.fetchval("SELECT pg_temp.hidden_set()")
            mark_session_changed(conn)
    # then the release sends the reset, and the next borrower sees the default
    assert len(statements) == 2, statements
    assert "RESET ALL" in statements.sent[-1]
    assert (await _session_snapshot(engine))["custom"] is None


async def test_a_clean_borrow_costs_one_round_trip_whatever_the_api(
    one_connection_engine: GatewayEngine,
) -> None:
    engine = one_connection_engine
    await engine.run_querystring(QueryString("SELECT 1"))
    # raw SQL through the engine: the query, and no reset on release
    with count_statements() as statements:
        await engine.run_querystring(QueryString("SELECT {}::int AS n", 1))
    assert statements.sent == ["SELECT $1::int AS n"], statements
    # a transaction-local setting needs no reset either
    async with engine.transaction() as transaction:
        await transaction.connection.fetchval("SELECT set_config('work_mem', '9MB', true)")
    snapshot = await _session_snapshot(engine)
    assert snapshot["work_mem"] != "9MB"


async def test_piccolo_query_builder_sends_one_statement() -> None:
    # given the project's own engine, outside the test's transaction
    async with detached():
        await User.select(User.id).where(User.email == "nobody@example.com").first()
        # when a plain Piccolo query runs
        with count_statements() as statements:
            await User.select(User.id).where(User.email == "nobody@example.com").first()
    # then it is one statement: no reset round trip on release
    assert len(statements) == 1, statements


@pytest.mark.parametrize(
    ("sql", "changes"),
    [
        ("SELECT 1", False),
        ("UPDATE campaigns SET name = $1 WHERE id = $2", False),
        ("SET LOCAL statement_timeout = 5", False),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", False),
        ("SELECT set_config('hnsw.ef_search', $1, true)", False),
        ("SELECT pg_advisory_xact_lock(1)", False),
        ("set work_mem = '1MB'", True),
        ("SELECT 1; SET ROLE nobody", True),
        ("SELECT set_config('a.b', $1, $2)", True),
        ("SELECT set_config('a.b', lower($1), false)", True),
        ("SELECT pg_advisory_lock_shared(1)", True),
        ("RESET work_mem", True),
        ("PREPARE q AS SELECT 1", True),
        # asyncpg's own jit toggle around type introspection (it restores jit itself)
        ("SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new", False),
        ("SELECT set_config('jit', 'on', false)", True),
    ],
)
def test_which_statements_change_the_session(sql: str, changes: bool) -> None:
    assert changes_session(sql) is changes
