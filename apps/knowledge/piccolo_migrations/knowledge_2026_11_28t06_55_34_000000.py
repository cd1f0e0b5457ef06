from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-28T06:55:34:000000"
VERSION = "1.38.0"
DESCRIPTION = "validate the text length limits"

# VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
# Its own migration (and so its own transaction), after the NOT VALID constraints landed.
CONSTRAINTS = [
    ("knowledge_documents", "knowledge_documents_name_length"),
    ("knowledge_documents", "knowledge_documents_description_length"),
    ("knowledge_documents", "knowledge_documents_content_length"),
    ("knowledge_documents", "knowledge_documents_category_length"),
    ("knowledge_documents", "knowledge_documents_source_length"),
    ("knowledge_documents", "knowledge_documents_author_length"),
    ("knowledge_documents", "knowledge_documents_embedding_model_length"),
    ("knowledge_document_versions", "knowledge_document_versions_name_length"),
    ("knowledge_document_versions", "knowledge_document_versions_content_length"),
    ("knowledge_document_versions", "knowledge_document_versions_author_length"),
    ("knowledge_document_versions", "knowledge_document_versions_embedding_model_length"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="knowledge", description=DESCRIPTION)
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
