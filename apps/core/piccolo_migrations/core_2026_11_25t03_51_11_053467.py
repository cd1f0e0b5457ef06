from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T03:51:11:053467"
VERSION = "1.38.0"
DESCRIPTION = "shared database objects"

# clock_timestamp(), not now(): two updates in one transaction get two timestamps.
TOUCH_FUNCTION = """
CREATE OR REPLACE FUNCTION gatewaydb_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$
"""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="core", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step("CREATE EXTENSION IF NOT EXISTS vector", TOUCH_FUNCTION)
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP FUNCTION IF EXISTS gatewaydb_touch_updated_at()",
            "DROP EXTENSION IF EXISTS vector",
        )
    )
    return manager
