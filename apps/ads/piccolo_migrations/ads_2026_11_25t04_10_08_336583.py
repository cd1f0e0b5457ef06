from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T04:10:08:336583"
VERSION = "1.38.0"
DESCRIPTION = "admin list indexes"

# The admin lists conversions newest first (id breaks ties), optionally by source.
# Built CONCURRENTLY, outside a transaction (the table may be big); the DROP before each
# CREATE clears an invalid index left by a failed build when the migration runs again.


async def forwards():
    manager = MigrationManager(
        migration_id=ID,
        app_name="ads",
        description=DESCRIPTION,
        wrap_in_transaction=False,
    )
    manager.add_raw(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_admin_timestamp",
            'CREATE INDEX CONCURRENTLY conversions_admin_timestamp ON conversions ("timestamp" DESC, id)',
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_admin_source_timestamp",
            "CREATE INDEX CONCURRENTLY conversions_admin_source_timestamp "
            'ON conversions (source, "timestamp" DESC, id)',
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_admin_source_timestamp",
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_admin_timestamp",
        )
    )
    return manager
