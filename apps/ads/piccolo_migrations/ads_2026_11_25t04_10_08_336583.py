from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T04:10:08:336583"
VERSION = "1.38.0"
DESCRIPTION = "admin list indexes"

# The admin lists conversions newest first (id breaks ties), optionally by source.


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="ads", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step(
            'CREATE INDEX conversions_admin_timestamp ON conversions ("timestamp" DESC, id)',
            "CREATE INDEX conversions_admin_source_timestamp "
            'ON conversions (source, "timestamp" DESC, id)',
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX IF EXISTS conversions_admin_source_timestamp",
            "DROP INDEX IF EXISTS conversions_admin_timestamp",
        )
    )
    return manager
