"""Defect 6 of issue 11: ``migrations forwards`` beside ``db deploy`` takes the same lock."""

from __future__ import annotations

import subprocess
import sys
import time

import asyncpg
import pytest
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

from apps.core.dburl import parse_database_url
from apps.db.deploy import DEPLOY_LOCK_KEY
from apps.db.forwards_lock import _race_tolerant
from tests.conftest import PROJECT_ROOT
from tests.db.helpers import MIGRATION_FILES, command_env, fetch, start_piccolo_db

pytestmark = pytest.mark.reliability


def _start_forwards(url: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=command_env(url, **extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_forwards_waits_for_the_deploy_lock_and_gives_up_clearly(
    migrated_database: str,
) -> None:
    # given a deploy holding the migration lock
    holder = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", DEPLOY_LOCK_KEY)
        # when forwards runs with a 1 s lock timeout
        process = _start_forwards(migrated_database, GATEWAYDB_DEPLOY_LOCK_TIMEOUT="1")
        stdout, stderr = process.communicate(timeout=120)
    finally:
        await holder.close()
    # then it refuses, naming the lock, and changes nothing
    assert process.returncode != 0, stdout
    assert "another deploy held the migration lock" in stderr


async def test_deploy_and_forwards_started_together_apply_every_migration_once(
    scratch_database: str,
) -> None:
    # given an empty database, when a deploy and two forwards start at the same time
    started = time.monotonic()
    processes = [
        start_piccolo_db("deploy", url=scratch_database),
        _start_forwards(scratch_database),
        _start_forwards(scratch_database),
    ]
    results = [(process, *process.communicate(timeout=300)) for process in processes]
    elapsed = time.monotonic() - started
    # then all three succeed and every migration is recorded exactly once
    for process, stdout, stderr in results:
        assert process.returncode == 0, stdout + stderr
    rows = await fetch(
        scratch_database,
        "SELECT app_name, name, count(*) AS n FROM migration GROUP BY app_name, name",
    )
    assert len(rows) == MIGRATION_FILES and all(row["n"] == 1 for row in rows)
    print(f"\ndeploy + 2 x forwards on an empty database: all ok in {elapsed:.1f} s")


async def test_creating_the_migration_table_tolerates_losing_the_race() -> None:
    # given the migration table exists (another command created it after this one's check)
    assert await Migration.table_exists()

    async def check_then_create(manager: BaseMigrationManager) -> bool:
        await Migration.create_table().run()  # the CREATE of a check that said "missing"
        return True

    # when this command's CREATE runs, it fails in the database but not in the command
    created = await _race_tolerant(check_then_create)(BaseMigrationManager())
    assert created is False
    # and the installed Piccolo method is the tolerant one
    assert getattr(BaseMigrationManager.create_migration_table, "tolerates_races", False)
