from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollup and stream indexes of conversions"

# campaign_rollup(s) read a date range of some campaigns' conversions: (campaign_id,
# timestamp) serves it in the custom and the generic plan of the prepared statement alike
# (with only the timestamp index, a generic plan scanned all of it on every call).
# conversion_stream reads every conversion in (created_at, id) order, one keyset page at a
# time. Built CONCURRENTLY, outside a transaction; the DROP before each CREATE clears an
# invalid index left by a failed build when the migration runs again.


async def forwards():
    manager = MigrationManager(
        migration_id=ID,
        app_name="ads",
        description=DESCRIPTION,
        wrap_in_transaction=False,
    )
    manager.add_raw(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_campaign_id_timestamp",
            "CREATE INDEX CONCURRENTLY conversions_campaign_id_timestamp "
            'ON conversions (campaign_id, "timestamp")',
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_created_at_id",
            "CREATE INDEX CONCURRENTLY conversions_created_at_id ON conversions (created_at, id)",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_created_at_id",
            "DROP INDEX CONCURRENTLY IF EXISTS conversions_campaign_id_timestamp",
        )
    )
    return manager
