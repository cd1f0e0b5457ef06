from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T04:10:06:633484"
VERSION = "1.38.0"
DESCRIPTION = "admin list indexes"

# The admin lists live clips by score (id breaks ties), optionally filtered by status, or
# sorted by rank.
# Partial on live rows, covering the sort keys, so a deep page is an index-only scan.
# Built CONCURRENTLY (outside a transaction: clips may already hold millions of rows); a
# build that failed half-way leaves an invalid index, which the DROP before each CREATE
# clears when the migration runs again.


async def forwards():
    manager = MigrationManager(
        migration_id=ID,
        app_name="media",
        description=DESCRIPTION,
        wrap_in_transaction=False,
    )
    manager.add_raw(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_score",
            "CREATE INDEX CONCURRENTLY clips_admin_score ON clips (score DESC, id) "
            "WHERE deleted_at IS NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_status_score",
            "CREATE INDEX CONCURRENTLY clips_admin_status_score ON clips (status, score DESC, id) "
            "WHERE deleted_at IS NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_rank",
            "CREATE INDEX CONCURRENTLY clips_admin_rank ON clips (rank, id) WHERE deleted_at IS NULL",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_rank",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_status_score",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_score",
        )
    )
    return manager
