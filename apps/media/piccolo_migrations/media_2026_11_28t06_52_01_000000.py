from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:52:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "clips stream index"

# clip_stream reads every clip in (created_at, id) order, one keyset page at a time: the
# row comparison (created_at, id) > ($1, $2) is an index condition on this index, so a
# page costs the same at any depth. Built CONCURRENTLY, outside a transaction; the DROP
# clears an invalid index left by a failed build when the migration runs again.


async def forwards():
    manager = MigrationManager(
        migration_id=ID,
        app_name="media",
        description=DESCRIPTION,
        wrap_in_transaction=False,
    )
    manager.add_raw(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS clips_created_at_id",
            "CREATE INDEX CONCURRENTLY clips_created_at_id ON clips (created_at, id)",
        )
    )
    manager.add_raw_backwards(sql_step("DROP INDEX CONCURRENTLY IF EXISTS clips_created_at_id"))
    return manager
