"""Users and their API keys."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.users.tables import ApiKey, User

APP_CONFIG = AppConfig(
    app_name="users",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[User, ApiKey],
    migration_dependencies=["apps.core.piccolo_app"],
    commands=[],
)
