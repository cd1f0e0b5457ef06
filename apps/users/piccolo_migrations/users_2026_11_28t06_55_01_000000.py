from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "text length limits as CHECK constraints, NOT VALID (validated next)"

# The services refuse text past these lengths (apps/core/validation.py); the database holds
# the same limits so no other writer can store more. Added NOT VALID: only new writes are
# checked, and the ACCESS EXCLUSIVE lock is held for an instant, not for a scan of the table.
# The next migration validates the rows already there.
LIMITS = [
    ("users", "email", 254),
    ("users", "name", 200),
    ("api_keys", "name", 100),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="users", description=DESCRIPTION)
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
