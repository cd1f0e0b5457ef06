"""pg_stat_statements on the embedded test server: loaded by default, its slowest statements
reported by `piccolo db stats` (text and --json) and the admin page, with placeholders and
never a parameter value; a database without the extension gets the how-to instead."""

from __future__ import annotations

import json
import secrets

from piccolo.querystring import QueryString

from apps.db.stats import STATEMENTS_NOT_CREATED, database_stats
from piccolo_conf import DB
from tests.admin.conftest import create_login, log_in
from tests.conftest import TEST_DATABASE, database_url
from tests.db.helpers import fetch, piccolo_db
from tests.observability.test_web import client

# Forget this database's statements (the cluster's other databases keep theirs).
RESET = (
    "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
    "WHERE datname = current_database()), 0)"
)


def marker() -> tuple[str, str]:
    """A statement of its own (a unique column alias) and a secret parameter value."""
    alias = f"statement_{secrets.token_hex(4)}"
    return alias, f"secret-{secrets.token_hex(8)}@example.com"


async def run_and_finish(sql: str, *values: object) -> None:
    """Run ``sql`` in the test's transaction, then one more statement on its connection:
    inside a transaction the server counts a statement when its portal is dropped, which
    the next statement on the connection does (the report reads on another connection)."""
    await DB.run_querystring(QueryString(sql, *values))
    await DB.run_querystring(QueryString("SELECT 1"))


async def test_the_test_server_preloads_it_and_the_test_database_has_it() -> None:
    [row] = await DB.run_querystring(
        QueryString(
            "SELECT current_setting('shared_preload_libraries') AS libraries, "
            "(SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') "
            "AS version"
        )
    )
    assert "pg_stat_statements" in row["libraries"]
    assert row["version"] is not None


async def test_the_report_lists_a_statement_with_placeholders_only() -> None:
    # given a slow statement with a secret parameter, run by the test
    alias, secret = marker()
    await DB.run_querystring(QueryString(RESET))
    await run_and_finish(f"SELECT pg_sleep(0.05), {{}}::text AS {alias}", secret)
    # when the report is read on the test database
    report = await database_stats()
    # then the statement is among the slowest, normalised, without the value
    assert report.statements_available and report.statements_note == ""
    [row] = [r for r in report.slowest_statements if alias in r["statement"]]
    # the server numbers constants after the parameters: the 0.05 became $2
    assert "pg_sleep($2), $1::text" in row["statement"]
    assert row["calls"] == 1 and row["mean_ms"] >= 50
    assert report.slowest_statements[0] == row  # the slowest since the reset
    assert secret not in json.dumps(report.as_dict())


async def test_the_command_prints_the_slowest_statements_as_text_and_json() -> None:
    # given a statement run by a connection of its own on the test database
    alias, secret = marker()
    url = database_url(TEST_DATABASE)
    await fetch(url, RESET)
    await fetch(url, f"SELECT pg_sleep(0.05), $1::text AS {alias}", secret)
    # when the command reports, as text and as JSON
    text = piccolo_db("stats", url=url)
    as_json = piccolo_db("stats", "--json", url=url)
    # then both list it with its placeholders and neither shows the value
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    section = text.stdout.split("slowest statements (pg_stat_statements, by mean time)")[1]
    assert alias in section and "pg_sleep($2), $1::text" in section
    report = json.loads(as_json.stdout)
    assert report["statements_available"] is True
    assert [r for r in report["slowest_statements"] if alias in r["statement"]]
    for result in (text, as_json):
        assert secret not in result.stdout and secret not in result.stderr


async def test_the_admin_page_shows_the_slowest_statements() -> None:
    alias, secret = marker()
    admin = await create_login(admin=True)
    await DB.run_querystring(QueryString(RESET))
    await run_and_finish(f"SELECT pg_sleep(0.05), {{}}::text AS {alias}", secret)
    async with client() as c:
        await log_in(c, admin.username)
        page = await c.get("/admin/database/")
    assert page.status_code == 200
    slowest = page.text.split("<h2>Slowest statements</h2>")[1]
    assert alias in slowest and "pg_sleep($2), $1::text" in slowest
    assert secret not in page.text


async def test_a_database_without_the_extension_gets_the_how_to(migrated_database: str) -> None:
    # the server preloads the library, but the template's clones never created the extension
    assert not await fetch(
        migrated_database, "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
    )
    text = piccolo_db("stats", url=migrated_database)
    as_json = json.loads(piccolo_db("stats", "--json", url=migrated_database).stdout)
    assert as_json["statements_available"] is False
    assert as_json["statements_note"] == STATEMENTS_NOT_CREATED
    assert as_json["slowest_statements"] == []
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in text.stdout
