"""The Prisma-era import's own tables (id map, quarantine); the verb lives in apps/db."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.legacy.tables import PrismaIdMap, PrismaQuarantine

APP_CONFIG = AppConfig(
    app_name="legacy",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[PrismaIdMap, PrismaQuarantine],
    migration_dependencies=["apps.core.piccolo_app"],
    commands=[],
)
