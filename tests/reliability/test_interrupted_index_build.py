"""Defect 4 of issue 11: an interrupted concurrent index build must not stay invalid."""

from __future__ import annotations

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from tests.db.helpers import piccolo_db

pytestmark = pytest.mark.reliability

USERS_INDEX_MIGRATION = "2026-11-25T04:03:05:524671"  # builds users_created_at_id


async def _leave_invalid_index(url: str, name: str, *, forget_migration: str | None) -> None:
    # A UNIQUE concurrent build over duplicates fails after the catalog entry exists: the
    # same invalid leftover a deploy killed in the middle of the build leaves.
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        await connection.execute(f"DROP INDEX IF EXISTS {name}")
        await connection.execute("CREATE TABLE IF NOT EXISTS dup (x integer)")
        await connection.execute("INSERT INTO dup VALUES (1), (1)")
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON dup (x)")
        if forget_migration:
            await connection.execute("DELETE FROM migration WHERE name = $1", forget_migration)
    finally:
        await connection.close()


async def _index(url: str, name: str) -> tuple[bool, str] | None:
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        row = await connection.fetchrow(
            "SELECT i.indisvalid, i.indrelid::regclass::text AS table_name FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1",
            name,
        )
    finally:
        await connection.close()
    return (row["indisvalid"], row["table_name"]) if row else None


async def test_redeploy_after_an_interrupted_build_rebuilds_the_index(
    migrated_database: str,
) -> None:
    # given the users index migration interrupted during its concurrent build
    await _leave_invalid_index(
        migrated_database, "users_created_at_id", forget_migration=USERS_INDEX_MIGRATION
    )
    # when doctor runs, then it reports the invalid index
    doctor = piccolo_db("doctor", url=migrated_database)
    assert doctor.returncode == 1
    assert "invalid index(es)" in doctor.stderr and "users_created_at_id on dup" in doctor.stderr
    # when the deploy runs again
    deploy = piccolo_db("deploy", url=migrated_database)
    # then the migration drops the leftover and builds a valid index on the right table
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert await _index(migrated_database, "users_created_at_id") == (True, "users")
    doctor = piccolo_db("doctor", url=migrated_database)
    assert "invalid index" not in doctor.stderr


async def test_deploy_fails_while_an_invalid_index_is_left(migrated_database: str) -> None:
    # given an invalid index no pending migration will rebuild
    await _leave_invalid_index(migrated_database, "stray_dup_x", forget_migration=None)
    # when deploying, then it says so and exits non-zero
    deploy = piccolo_db("deploy", url=migrated_database)
    assert deploy.returncode != 0
    assert "stray_dup_x on dup" in deploy.stderr + deploy.stdout
