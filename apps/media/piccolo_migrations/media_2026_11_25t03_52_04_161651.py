from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T03:52:04:161651"
VERSION = "1.38.0"
DESCRIPTION = "database-side rules: triggers and indexes Piccolo cannot express"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="media", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step(
            "CREATE TRIGGER assets_touch_updated_at BEFORE UPDATE ON assets "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE TRIGGER clips_touch_updated_at BEFORE UPDATE ON clips "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE TRIGGER predictions_touch_updated_at BEFORE UPDATE ON predictions "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE INDEX clips_asset_id_rank ON clips (asset_id, rank, id)",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX IF EXISTS clips_asset_id_rank",
            "DROP TRIGGER IF EXISTS predictions_touch_updated_at ON predictions",
            "DROP TRIGGER IF EXISTS clips_touch_updated_at ON clips",
            "DROP TRIGGER IF EXISTS assets_touch_updated_at ON assets",
        )
    )
    return manager
