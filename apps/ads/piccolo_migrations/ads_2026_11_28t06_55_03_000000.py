from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "text length limits as CHECK constraints, NOT VALID (validated next)"

# The services refuse text past these lengths (apps/core/validation.py); the database holds
# the same limits so no other writer can store more. Added NOT VALID: only new writes are
# checked, and the ACCESS EXCLUSIVE lock is held for an instant, not for a scan of the table.
# The next migration validates the rows already there.
LIMITS = [
    ("campaigns", "name", 200),
    ("campaigns", "description", 10000),
    ("campaigns", "meta_campaign_id", 10000),
    ("campaigns", "meta_ad_set_id", 10000),
    ("campaigns", "meta_account_id", 10000),
    ("experiments", "name", 200),
    ("experiments", "description", 10000),
    ("experiments", "winner_variant_id", 10000),
    ("conversions", "external_id", 10000),
    ("conversions", "attributed_ad_id", 10000),
    ("performance_metrics", "platform", 10000),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ads", description=DESCRIPTION)
    manager.add_raw(
        sql_step(
            *(
                f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_length "
                f"CHECK (char_length({column}) <= {limit}) NOT VALID"
                for table, column, limit in LIMITS
            )
        )
    )
    manager.add_raw_backwards(
        sql_step(
            *(
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_length"
                for table, column, _ in LIMITS
            )
        )
    )
    return manager
