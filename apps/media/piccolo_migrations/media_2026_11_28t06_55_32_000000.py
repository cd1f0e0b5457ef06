from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "validate the text length limits"

# VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
# Its own migration (and so its own transaction), after the NOT VALID constraints landed.
CONSTRAINTS = [
    ("assets", "assets_filename_length"),
    ("assets", "assets_original_name_length"),
    ("assets", "assets_mime_type_length"),
    ("assets", "assets_gcs_url_length"),
    ("assets", "assets_gcs_bucket_length"),
    ("assets", "assets_gcs_path_length"),
    ("assets", "assets_thumbnail_url_length"),
    ("assets", "assets_codec_length"),
    ("assets", "assets_processing_error_length"),
    ("clips", "clips_clip_url_length"),
    ("clips", "clips_thumbnail_url_length"),
    ("predictions", "predictions_model_version_length"),
    ("predictions", "predictions_model_type_length"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="media", description=DESCRIPTION)
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
