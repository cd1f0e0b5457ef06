"""The audit log of writes done through the admin."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.audit.tables import AdminLoginFailure, AuditEntry

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[AuditEntry, AdminLoginFailure],
    migration_dependencies=["apps.core.piccolo_app"],
    commands=[],
)
