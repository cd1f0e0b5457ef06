from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T04:03:05:524671"
VERSION = "1.38.0"
DESCRIPTION = "keyset list indexes"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="users", description=DESCRIPTION,
        # CREATE INDEX CONCURRENTLY IF NOT EXISTS CONCURRENTLY cannot run in a transaction; without it the build
        # would block writes to the table for as long as it takes.
        wrap_in_transaction=False,
    )
    # user_list pages newest first with (created_at, id) < ($1, $2): a composite
    # index (read backwards) serves the order and the row comparison together.
    manager.add_raw(
        sql_step("CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_id ON users (created_at, id)")
    )
    manager.add_raw_backwards(
        sql_step("DROP INDEX CONCURRENTLY IF EXISTS users_created_at_id")
    )
    return manager
