from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T05:08:44:702307"
VERSION = "1.38.0"
DESCRIPTION = "index for the campaign list of a user"

# campaign_list(user_id=...) pages newest first with (created_at, id) < cursor: this index
# reads exactly one page instead of scanning created_at and filtering on user_id.
# Built CONCURRENTLY, outside a transaction; the DROP clears an invalid index left by a
# failed build when the migration runs again.


async def forwards():
    manager = MigrationManager(
        migration_id=ID,
        app_name="ads",
        description=DESCRIPTION,
        wrap_in_transaction=False,
    )
    manager.add_raw(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS campaigns_user_id_created_at_id",
            "CREATE INDEX CONCURRENTLY campaigns_user_id_created_at_id "
            "ON campaigns (user_id, created_at DESC, id DESC)",
        )
    )
    manager.add_raw_backwards(
        sql_step("DROP INDEX CONCURRENTLY IF EXISTS campaigns_user_id_created_at_id")
    )
    return manager
