"""The RAG knowledge base."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from apps.knowledge.commands.reembed import reembed
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion

APP_CONFIG = AppConfig(
    app_name="knowledge",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[KnowledgeDocument, KnowledgeDocumentVersion],
    migration_dependencies=["apps.core.piccolo_app"],
    commands=[reembed],
)
