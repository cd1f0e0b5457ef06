"""Campaigns, experiments, conversions and performance metrics."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.ads.tables import (
    Campaign,
    Conversion,
    ConversionExternalId,
    Experiment,
    PerformanceMetric,
)

APP_CONFIG = AppConfig(
    app_name="ads",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Campaign, Experiment, Conversion, ConversionExternalId, PerformanceMetric],
    migration_dependencies=[
        "apps.core.piccolo_app",
        "apps.users.piccolo_app",
        "apps.media.piccolo_app",
    ],
    commands=[],
)
