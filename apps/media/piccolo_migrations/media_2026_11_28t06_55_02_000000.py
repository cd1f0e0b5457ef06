from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "text length limits as CHECK constraints, NOT VALID (validated next)"

# The services refuse text past these lengths (apps/core/validation.py); the database holds
# the same limits so no other writer can store more. Added NOT VALID: only new writes are
# checked, and the ACCESS EXCLUSIVE lock is held for an instant, not for a scan of the table.
# The next migration validates the rows already there.
LIMITS = [
    ("assets", "filename", 10000),
    ("assets", "original_name", 10000),
    ("assets", "mime_type", 10000),
    ("assets", "gcs_url", 10000),
    ("assets", "gcs_bucket", 10000),
    ("assets", "gcs_path", 10000),
    ("assets", "thumbnail_url", 10000),
    ("assets", "codec", 10000),
    ("assets", "processing_error", 10000),
    ("clips", "clip_url", 10000),
    ("clips", "thumbnail_url", 10000),
    ("predictions", "model_version", 10000),
    ("predictions", "model_type", 10000),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="media", description=DESCRIPTION)
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
