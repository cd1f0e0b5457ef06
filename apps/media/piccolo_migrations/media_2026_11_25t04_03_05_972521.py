from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T04:03:05:972521"
VERSION = "1.38.0"
DESCRIPTION = "keyset list indexes"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="media", description=DESCRIPTION,
        # CREATE INDEX CONCURRENTLY IF NOT EXISTS CONCURRENTLY cannot run in a transaction; without it the build
        # would block writes to the table for as long as it takes.
        wrap_in_transaction=False,
    )
    # Each keyset list filters on its parent and compares (sort key, id) as a row value:
    # asset_list by (user_id; created_at, id) and clip_list by (asset_id; start_time, id).
    manager.add_raw(
        sql_step(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS assets_user_id_created_at_id "
            "ON assets (user_id, created_at, id)",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS clips_asset_id_start_time_id "
            "ON clips (asset_id, start_time, id)",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS clips_asset_id_start_time_id",
            "DROP INDEX CONCURRENTLY IF EXISTS assets_user_id_created_at_id",
        )
    )
    return manager
