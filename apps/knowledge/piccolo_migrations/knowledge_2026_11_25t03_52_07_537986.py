from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from apps.core.migration_steps import sql_step

ID = "2026-11-25T03:52:07:537986"
VERSION = "1.38.0"
DESCRIPTION = "database-side rules: triggers and indexes Piccolo cannot express"

# Weighted so that a match in the name ranks above one in the content.
SEARCH_VECTOR = """
ALTER TABLE knowledge_documents ADD COLUMN search_vector tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(name, '')), 'A')
    || setweight(to_tsvector('english', coalesce(content, '')), 'B')
) STORED
"""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="knowledge", description=DESCRIPTION
    )
    manager.add_raw(
        sql_step(
            "CREATE TRIGGER knowledge_documents_touch_updated_at BEFORE UPDATE ON knowledge_documents "
            "FOR EACH ROW EXECUTE FUNCTION gatewaydb_touch_updated_at()",
            SEARCH_VECTOR,
            "CREATE INDEX knowledge_documents_search_vector ON knowledge_documents USING gin (search_vector)",
            "CREATE INDEX knowledge_documents_tags ON knowledge_documents USING gin (tags)",
            "CREATE INDEX knowledge_documents_embedding_hnsw ON knowledge_documents USING hnsw (embedding vector_cosine_ops)",
        )
    )
    manager.add_raw_backwards(
        sql_step(
            "DROP INDEX IF EXISTS knowledge_documents_embedding_hnsw",
            "DROP INDEX IF EXISTS knowledge_documents_tags",
            "DROP INDEX IF EXISTS knowledge_documents_search_vector",
            "ALTER TABLE knowledge_documents DROP COLUMN IF EXISTS search_vector",
            "DROP TRIGGER IF EXISTS knowledge_documents_touch_updated_at ON knowledge_documents",
        )
    )
    return manager
