"""`piccolo db deploy`: concurrent deploys apply each migration once; failures roll back."""

from __future__ import annotations

import asyncpg

from apps.core.dburl import parse_database_url
from apps.db.deploy import DEPLOY_LOCK_KEY
from tests.conftest import run_piccolo
from tests.db.helpers import (
    MIGRATION_FILES,
    fetch,
    one_line_error,
    piccolo_db,
    start_piccolo_db,
)

BROKEN_CONF = "tests.db.fixtures.broken_conf"
GOOD = "2026-01-01T00:00:00:000000"
FAILING = "2026-01-02T00:00:00:000000"


async def _history(url: str) -> list[tuple[str, str]]:
    rows = await fetch(url, "SELECT app_name, name FROM migration ORDER BY app_name, name")
    return [(row["app_name"], row["name"]) for row in rows]


async def test_three_deploys_started_together_apply_every_migration_once(
    scratch_database: str,
) -> None:
    # given a fresh, empty database
    # when three deploys start at the same time
    processes = [start_piccolo_db("deploy", url=scratch_database) for _ in range(3)]
    results = [(process.wait(timeout=300), *process.communicate()) for process in processes]

    # then all exit 0, one applied everything and the others found nothing to do
    assert [code for code, _, _ in results] == [0, 0, 0], results
    outputs = sorted(stdout.splitlines()[-1] for _, stdout, _ in results)
    assert outputs == [f"deployed: {MIGRATION_FILES} migration(s) applied", *["up to date"] * 2]
    # and every migration is in the history exactly once
    history = await _history(scratch_database)
    assert len(history) == MIGRATION_FILES
    assert len(set(history)) == MIGRATION_FILES
    assert await fetch(scratch_database, "SELECT 1 FROM pg_extension WHERE extname = 'vector'")
    # and Piccolo's own command agrees that nothing is left to run
    forwards = run_piccolo("migrations", "forwards", "all", url=scratch_database)
    assert "not yet run" not in forwards.stdout
    assert "No migrations need to be run" in forwards.stdout


async def test_a_failing_migration_leaves_schema_and_history_as_before(
    migrated_database: str,
) -> None:
    # given a migrated database and an app whose second migration fails half way
    before = await _history(migrated_database)

    # when it is deployed
    result = piccolo_db("deploy", url=migrated_database, PICCOLO_CONF=BROKEN_CONF)

    # then the command names the migration and the database error
    one_line_error(result, f"migration broken:{FAILING} failed", "division by zero")
    # and the good migration before it is applied and recorded
    history = await _history(migrated_database)
    assert history == sorted([*before, ("broken", GOOD)])
    assert await fetch(migrated_database, "SELECT to_regclass('broken_good') IS NOT NULL AS ok")
    # and nothing of the failing one is left: neither its tables, columns nor history row
    partial = await fetch(migrated_database, "SELECT to_regclass('broken_partial') AS name")
    assert partial[0]["name"] is None
    flag = await fetch(
        migrated_database,
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'users' AND column_name = 'broken_flag'",
    )
    assert flag == []

    # when it is deployed again, it fails the same way and the history does not move
    again = piccolo_db("deploy", url=migrated_database, PICCOLO_CONF=BROKEN_CONF)
    one_line_error(again, f"migration broken:{FAILING} failed")
    assert await _history(migrated_database) == history


async def test_deploy_gives_up_with_a_clear_error_when_another_deploy_holds_the_lock(
    migrated_database: str,
) -> None:
    # given another session holding the deploy lock
    holder = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", DEPLOY_LOCK_KEY)

        # when a deploy may wait half a second only
        result = piccolo_db("deploy", url=migrated_database, GATEWAYDB_DEPLOY_LOCK_TIMEOUT="0.5")
    finally:
        await holder.close()

    # then it fails with one line saying why and what to do
    one_line_error(result, "another deploy held the migration lock for more than 0.5 s")


async def test_deploy_on_an_up_to_date_database_does_nothing(migrated_database: str) -> None:
    # given a database migrated by `piccolo migrations forwards all`
    before = await _history(migrated_database)
    # when it is deployed
    result = piccolo_db("deploy", url=migrated_database)
    # then nothing is applied
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "up to date"
    assert await _history(migrated_database) == before


async def test_a_migration_outside_a_transaction_is_applied_and_recorded(
    migrated_database: str,
) -> None:
    # given an app whose migration builds an index CONCURRENTLY (no transaction allowed)
    # when it is deployed
    result = piccolo_db(
        "deploy", url=migrated_database, PICCOLO_CONF="tests.db.fixtures.concurrent_conf"
    )
    # then the index exists and the migration is recorded once
    assert result.returncode == 0, result.stderr
    index = await fetch(migrated_database, "SELECT to_regclass('users_name_probe') AS i")
    assert index[0]["i"] == "users_name_probe"
    assert ("concurrent", GOOD) in await _history(migrated_database)
