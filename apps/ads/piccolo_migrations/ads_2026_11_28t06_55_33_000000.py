from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:33:000000"
VERSION = "1.38.0"
DESCRIPTION = "validate the text length limits"

# VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
# Its own migration (and so its own transaction), after the NOT VALID constraints landed.
CONSTRAINTS = [
    ("campaigns", "campaigns_name_length"),
    ("campaigns", "campaigns_description_length"),
    ("campaigns", "campaigns_meta_campaign_id_length"),
    ("campaigns", "campaigns_meta_ad_set_id_length"),
    ("campaigns", "campaigns_meta_account_id_length"),
    ("experiments", "experiments_name_length"),
    ("experiments", "experiments_description_length"),
    ("experiments", "experiments_winner_variant_id_length"),
    ("conversions", "conversions_external_id_length"),
    ("conversions", "conversions_attributed_ad_id_length"),
    ("performance_metrics", "performance_metrics_platform_length"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ads", description=DESCRIPTION)
    manager.add_raw(
        sql_step(
            *(
                f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}"
                for table, name in CONSTRAINTS
            )
        )
    )
    # Validating changes nothing to undo; the previous migration's backwards step drops them.
    manager.add_raw_backwards(sql_step())
    return manager
