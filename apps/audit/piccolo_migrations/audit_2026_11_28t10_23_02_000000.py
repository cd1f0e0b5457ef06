from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T10:23:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "the login limit's index: failures of a key in its window"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="audit", description=DESCRIPTION,
        # CREATE INDEX CONCURRENTLY cannot run in a transaction; without it the build
        # would block writes to the table for as long as it takes.
        wrap_in_transaction=False,
    )
    # The limit counts a key's failures newer than the window, newest first, and deletes
    # the older ones: both are range reads of one key on (key, failed_at).
    manager.add_raw(
        sql_step(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS admin_login_failures_key_failed_at "
            "ON admin_login_failures (key, failed_at)"
        )
    )
    manager.add_raw_backwards(
        sql_step("DROP INDEX CONCURRENTLY IF EXISTS admin_login_failures_key_failed_at")
    )
    return manager
