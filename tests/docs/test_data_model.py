"""docs/data-model.md and docs/schema.dot say what the migrations build, or make test fails."""

from __future__ import annotations

import difflib
from pathlib import Path

import asyncpg

from apps.core.dburl import parse_database_url
from scripts.data_model import (
    BEGIN,
    COMMAND,
    DATA_MODEL,
    END,
    SCHEMA_DOT,
    catalog_markdown,
    replace_catalog,
    schema_graph,
)
from tests.conftest import TEMPLATE_DATABASE, database_url


async def catalog_of(url: str) -> str:
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        return await catalog_markdown(connection)
    finally:
        await connection.close()


def stale_diff(path: Path, wanted: str) -> str:
    """A unified diff of ``path`` against what it should say ("" when current)."""
    current = path.read_text(encoding="utf-8")
    return "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (from the migrations)",
        )
    )


async def test_the_data_model_doc_matches_the_migrated_catalog() -> None:
    catalog = await catalog_of(database_url(TEMPLATE_DATABASE))
    wanted = replace_catalog(DATA_MODEL.read_text(encoding="utf-8"), catalog)
    diff = stale_diff(DATA_MODEL, wanted)
    assert not diff, f"docs/data-model.md is stale; run `{COMMAND}`:\n{diff}"


def test_the_er_diagram_source_is_current() -> None:
    diff = stale_diff(SCHEMA_DOT, schema_graph())
    assert not diff, f"docs/schema.dot is stale; run `{COMMAND}`:\n{diff}"
    assert "TABLE_KnowledgeDocumentVersion" in SCHEMA_DOT.read_text(encoding="utf-8")
    assert SCHEMA_DOT.with_suffix(".svg").read_text(encoding="utf-8").lstrip().startswith("<")


async def test_a_migration_without_a_doc_change_is_caught(migrated_database: str) -> None:
    connection = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        await connection.execute("ALTER TABLE users ADD COLUMN nickname text DEFAULT 'x'")
    finally:
        await connection.close()
    catalog = await catalog_of(migrated_database)
    wanted = replace_catalog(DATA_MODEL.read_text(encoding="utf-8"), catalog)
    diff = stale_diff(DATA_MODEL, wanted)
    assert "+| `nickname` | `text` | null | `'x'::text` |" in diff.splitlines()


def test_the_catalog_section_covers_every_kind_of_rule() -> None:
    document = DATA_MODEL.read_text(encoding="utf-8")
    section = document[document.index(BEGIN) : document.index(END)]
    for needle in ("ON DELETE CASCADE", "ON DELETE SET NULL", "CHECK (", "UNIQUE", "USING hnsw"):
        assert needle in section, needle
