"""Video assets, clips and predictions."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.media.tables import Asset, Clip, Prediction

APP_CONFIG = AppConfig(
    app_name="media",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Asset, Clip, Prediction],
    migration_dependencies=["apps.core.piccolo_app", "apps.users.piccolo_app"],
    commands=[],
)
