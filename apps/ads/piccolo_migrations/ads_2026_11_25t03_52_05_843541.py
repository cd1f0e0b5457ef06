from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T03:52:05:843541"
VERSION = "1.38.0"
DESCRIPTION = "database-side rules: triggers and indexes Piccolo cannot express"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="ads", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step(
            "CREATE TRIGGER campaigns_touch_updated_at BEFORE UPDATE ON campaigns "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE TRIGGER experiments_touch_updated_at BEFORE UPDATE ON experiments "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE TRIGGER conversions_touch_updated_at BEFORE UPDATE ON conversions "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE TRIGGER performance_metrics_touch_updated_at BEFORE UPDATE ON performance_metrics "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            "CREATE INDEX campaigns_start_date_end_date ON campaigns (start_date, end_date)",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX IF EXISTS campaigns_start_date_end_date",
            "DROP TRIGGER IF EXISTS performance_metrics_touch_updated_at ON performance_metrics",
            "DROP TRIGGER IF EXISTS conversions_touch_updated_at ON conversions",
            "DROP TRIGGER IF EXISTS experiments_touch_updated_at ON experiments",
            "DROP TRIGGER IF EXISTS campaigns_touch_updated_at ON campaigns",
        )
    )
    return manager
