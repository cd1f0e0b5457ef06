from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "validate the text length limits"

# VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
# Its own migration (and so its own transaction), after the NOT VALID constraints landed.
CONSTRAINTS = [
    ("users", "users_email_length"),
    ("users", "users_name_length"),
    ("api_keys", "api_keys_name_length"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="users", description=DESCRIPTION)
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
