"""The Prisma-era import's own tables (id map, quarantine, marks); the verb lives in apps/db."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.legacy.tables import PrismaIdMap, PrismaQuarantine, PrismaWatermark

APP_CONFIG = AppConfig(
    app_name="legacy",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[PrismaIdMap, PrismaQuarantine, PrismaWatermark],
    migration_dependencies=["apps.core.piccolo_app"],
    commands=[],
)
