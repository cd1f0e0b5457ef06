from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T03:52:02:512941"
VERSION = "1.38.0"
DESCRIPTION = "database-side rules: triggers and indexes Piccolo cannot express"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="users", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step(
            "CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))",
            "CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP TRIGGER IF EXISTS users_touch_updated_at ON users",
            "DROP INDEX IF EXISTS users_email_lower_key",
        )
    )
    return manager
