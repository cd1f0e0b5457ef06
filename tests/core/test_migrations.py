"""Migrations: forwards from zero, backwards to zero and forwards again, and no drift."""

import asyncpg

from apps.core.dburl import parse_database_url
from apps.core.drift import migration_drift
from tests.conftest import run_piccolo

DOMAIN_TABLES = {
    "users",
    "api_keys",
    "assets",
    "clips",
    "predictions",
    "campaigns",
    "experiments",
    "conversions",
    "performance_metrics",
    "knowledge_documents",
    "knowledge_document_versions",
}
PLUGIN_TABLES = {"piccolo_user", "sessions"}


async def _state(url: str) -> tuple[set[str], set[str], int]:
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        tables = {
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        extensions = {
            r["extname"] for r in await connection.fetch("SELECT extname FROM pg_extension")
        }
        applied = 0
        if "migration" in tables:
            applied = await connection.fetchval("SELECT count(*) FROM migration")
        return tables, extensions, applied
    finally:
        await connection.close()


async def test_forwards_all_builds_everything_from_an_empty_database(scratch_database: str) -> None:
    # given an empty database
    tables, extensions, _ = await _state(scratch_database)
    assert not tables & DOMAIN_TABLES and "vector" not in extensions
    # when the deploy step runs
    result = run_piccolo("migrations", "forwards", "all", url=scratch_database)
    # then every table, the extension and the history are there
    tables, extensions, applied = await _state(scratch_database)
    assert tables >= DOMAIN_TABLES | PLUGIN_TABLES
    assert "vector" in extensions
    assert applied >= 10
    assert "Traceback" not in result.stderr
    # and running it again finds nothing to do
    run_piccolo("migrations", "forwards", "all", url=scratch_database)
    assert (await _state(scratch_database))[2] == applied


async def test_backwards_all_to_zero_and_forwards_again(scratch_database: str) -> None:
    # given a fully migrated database
    run_piccolo("migrations", "forwards", "all", url=scratch_database)
    _, _, applied = await _state(scratch_database)
    # when every app is migrated back to zero
    run_piccolo("migrations", "backwards", "all", "--auto_agree", url=scratch_database)
    # then no domain or plugin table, no extension and no history row is left
    tables, extensions, remaining = await _state(scratch_database)
    assert not tables & (DOMAIN_TABLES | PLUGIN_TABLES)
    assert "vector" not in extensions
    assert remaining == 0
    # and forwards rebuilds the same thing
    run_piccolo("migrations", "forwards", "all", url=scratch_database)
    tables, extensions, again = await _state(scratch_database)
    assert tables >= DOMAIN_TABLES | PLUGIN_TABLES and "vector" in extensions
    assert again == applied


async def test_the_tables_and_the_migrations_agree() -> None:
    # what `piccolo migrations new all --auto` would write: nothing
    assert await migration_drift() == {}
