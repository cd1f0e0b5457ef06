from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T10:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "admin clip list indexes carry asset_id: the deleted-parents filter stays index-only"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="media", description=DESCRIPTION,
        # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction; without it the build
        # would block writes to the clips table for as long as it takes.
        wrap_in_transaction=False,
    )
    # The admin hides the clips of deleted assets with `asset_id <> ALL($ids)`. Without
    # asset_id in the index, a deep page (OFFSET 150,000) visits the heap for every row it
    # skips: 545 ms and 186,728 buffers at 200,000 clips against 97 ms and 1,329 buffers
    # with it (an index-only scan, 0 heap fetches). The new indexes replace the old ones.
    manager.add_raw(
        sql_step(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS clips_admin_score_live ON clips "
            "(score DESC, id) INCLUDE (asset_id) WHERE deleted_at IS NULL",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS clips_admin_rank_live ON clips "
            "(rank, id) INCLUDE (asset_id) WHERE deleted_at IS NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_score",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_rank",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS clips_admin_score ON clips "
            "(score DESC, id) WHERE deleted_at IS NULL",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS clips_admin_rank ON clips "
            "(rank, id) WHERE deleted_at IS NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_score_live",
            "DROP INDEX CONCURRENTLY IF EXISTS clips_admin_rank_live",
        )
    )
    return manager
