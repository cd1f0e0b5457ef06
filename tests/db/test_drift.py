"""`piccolo db drift`: non-zero, naming app and change, when tables and migrations disagree."""

from __future__ import annotations

from apps.core.drift import migration_drift
from tests.db.helpers import lines, one_line_error, piccolo_db


async def test_drift_exits_zero_when_the_tables_match_the_migrations(
    migrated_database: str,
) -> None:
    # given the project as committed
    assert await migration_drift() == {}
    # when drift is checked
    result = piccolo_db("drift", url=migrated_database)
    # then it exits 0
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no drift: every app's tables match its migrations"


async def test_drift_names_the_app_and_the_change_of_a_table_without_migration(
    migrated_database: str,
) -> None:
    # given an app with a table that no migration creates
    # when drift is checked
    result = piccolo_db(
        "drift", url=migrated_database, PICCOLO_CONF="tests.db.fixtures.drifted_conf"
    )
    # then it fails naming the app, the table and the column
    one_line_error(result, "drifted", "without a migration")
    changes = lines(result.stderr, "drift: app drifted: ")
    assert any("add_table" in line and "drift_probes" in line for line in changes)
    assert any("add_column" in line and "'label'" in line for line in changes)
