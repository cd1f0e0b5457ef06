"""The migrated database holds the facts of docs/data-model.md: types, delete rules, indexes."""

from tests.helpers import connection

# (table, column) -> the type PostgreSQL reports (format_type)
TYPES = {
    ("users", "id"): "uuid",
    ("users", "settings"): "jsonb",
    ("api_keys", "scopes"): "text[]",
    ("assets", "file_size"): "bigint",
    ("assets", "duration"): "double precision",
    ("assets", "width"): "integer",
    ("clips", "features"): "jsonb",
    ("clips", "has_text"): "boolean",
    ("predictions", "confidence"): "double precision",
    ("campaigns", "budget"): "numeric(10,2)",
    ("campaigns", "daily_budget"): "numeric(10,2)",
    ("campaigns", "total_spend"): "numeric(10,2)",
    ("campaigns", "total_impressions"): "bigint",
    ("campaigns", "total_clicks"): "bigint",
    ("campaigns", "total_conversions"): "bigint",
    ("campaigns", "start_date"): "timestamp with time zone",
    ("experiments", "variants"): "jsonb",
    ("experiments", "confidence"): "double precision",
    ("conversions", "value"): "numeric(10,2)",
    ("conversions", "timestamp"): "timestamp with time zone",
    ("performance_metrics", "date"): "date",
    ("performance_metrics", "impressions"): "bigint",
    ("performance_metrics", "ctr"): "numeric(5,4)",
    ("performance_metrics", "roas"): "numeric(10,2)",
    ("knowledge_documents", "embedding"): "vector(1536)",
    ("knowledge_documents", "tags"): "text[]",
    ("knowledge_documents", "search_vector"): "tsvector",
}

# (table, foreign key column) -> (referenced table, ON DELETE rule)
DELETE_RULES = {
    ("api_keys", "user_id"): ("users", "CASCADE"),
    ("assets", "user_id"): ("users", "CASCADE"),
    ("clips", "asset_id"): ("assets", "CASCADE"),
    ("predictions", "clip_id"): ("clips", "CASCADE"),
    ("campaigns", "user_id"): ("users", "CASCADE"),
    ("experiments", "campaign_id"): ("campaigns", "CASCADE"),
    ("conversions", "campaign_id"): ("campaigns", "SET NULL"),
    ("conversions", "attributed_clip_id"): ("clips", "SET NULL"),
    ("performance_metrics", "asset_id"): ("assets", "CASCADE"),
    ("knowledge_document_versions", "document_id"): ("knowledge_documents", "CASCADE"),
}

# table -> index definitions that must exist (the leading columns, or the access method)
INDEXES = {
    "users": ["(lower(email))", "(created_at)"],
    "api_keys": ["(key_hash)", "(user_id)"],
    "assets": ["(user_id)", "(status)", "(created_at)", "(gcs_url)"],
    "clips": ["(asset_id)", "(score)", "(rank)", "(status)", "(created_at)"],
    "predictions": ["(clip_id)", "(model_version)", "(created_at)"],
    "campaigns": [
        "(user_id)",
        "(status)",
        "(meta_campaign_id)",
        "(created_at)",
        "(start_date, end_date)",
    ],
    "experiments": ["(campaign_id)", "(status)", "(created_at)"],
    "conversions": ["(campaign_id)", '("timestamp")', "(created_at)"],
    # unique across the monthly partitions of conversions
    "conversion_external_ids": ["(external_id)"],
    "performance_metrics": [
        "(asset_id)",
        "(date)",
        "(platform)",
        "(asset_id, platform, date)",
    ],
    "knowledge_documents": [
        "(category)",
        "(version)",
        "(created_at)",
        "USING hnsw (embedding vector_cosine_ops)",
        "USING gin (tags)",
        "USING gin (search_vector)",
    ],
}

SOFT_DELETABLE = {"users", "assets", "clips", "campaigns", "experiments", "knowledge_documents"}
TABLES = {table for table, _ in TYPES} | {"knowledge_document_versions"}


async def test_columns_have_the_types_of_the_data_model() -> None:
    rows = await connection().fetch(
        "SELECT c.relname AS table, a.attname AS column,"
        " format_type(a.atttypid, a.atttypmod) AS type"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped"
    )
    actual = {(row["table"], row["column"]): row["type"] for row in rows}
    assert {key: actual.get(key) for key in TYPES} == TYPES


async def test_every_table_has_uuid_keys_and_timestamps() -> None:
    rows = await connection().fetch(
        "SELECT table_name, column_name, data_type, column_default, is_nullable"
        " FROM information_schema.columns WHERE table_schema = 'public'"
    )
    columns = {(row["table_name"], row["column_name"]): row for row in rows}
    for table in TABLES:
        assert columns[(table, "id")]["data_type"] == "uuid"
        assert columns[(table, "id")]["column_default"] == "gen_random_uuid()"
        assert columns[(table, "created_at")]["is_nullable"] == "NO"
        assert ((table, "deleted_at") in columns) == (table in SOFT_DELETABLE), table


async def test_foreign_keys_have_the_delete_rules_of_the_data_model() -> None:
    rows = await connection().fetch(
        "SELECT tc.table_name, kcu.column_name, ccu.table_name AS target, rc.delete_rule"
        " FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage kcu"
        "   ON kcu.constraint_name = tc.constraint_name"
        " JOIN information_schema.referential_constraints rc"
        "   ON rc.constraint_name = tc.constraint_name"
        " JOIN information_schema.constraint_column_usage ccu"
        "   ON ccu.constraint_name = tc.constraint_name"
        " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'"
        "   AND tc.table_name = ANY($1::text[])",
        list(TABLES),
    )
    actual = {(r["table_name"], r["column_name"]): (r["target"], r["delete_rule"]) for r in rows}
    assert actual == DELETE_RULES


async def test_the_indexes_of_the_data_model_exist() -> None:
    rows = await connection().fetch(
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    definitions: dict[str, list[str]] = {}
    for row in rows:
        definitions.setdefault(row["tablename"], []).append(row["indexdef"])
    for table, expected in INDEXES.items():
        for fragment in expected:
            assert any(fragment in d for d in definitions[table]), (table, fragment)


async def test_updated_at_triggers_exist_on_every_table_with_updated_at() -> None:
    with_updated_at = {
        row["table_name"]
        for row in await connection().fetch(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'updated_at'"
            " AND table_name = ANY($1::text[])",
            list(TABLES),
        )
    }
    triggered = {
        row["event_object_table"]
        for row in await connection().fetch(
            "SELECT event_object_table FROM information_schema.triggers"
            " WHERE trigger_name LIKE '%_touch_updated_at'"
            # (the monthly partitions of conversions and performance_metrics hold clones)
            " AND event_object_table = ANY($1::text[])",
            list(TABLES),
        )
    }
    assert with_updated_at and with_updated_at == triggered
