"""What the Prisma-era schema holds and where each of its tables goes.

The old tables keep their names; their camelCase columns become this schema's snake_case
ones (``userId`` -> ``user_id``). Only the id and foreign-key columns, the plaintext API key
and the embedding need more than a rename; they are listed here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

# uuid5 namespace of the ids that were not UUID strings: uuid5(NAMESPACE, "<table>:<old id>").
ID_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-5c6d-8e7f-9a0b1c2d3e4f")
# An imported API key's id is fixed per user, so a re-run finds it again:
# md5('prisma-import:api_keys:' || <the user's old id>)::uuid (computed by the importer's SQL).
API_KEY_NAME = "imported from the Prisma-era platform"
# The old platform's keys could do everything; the new scopes that say so.
API_KEY_SCOPES = ("admin", "read", "write")
EMBEDDING_DIMENSIONS = 1536
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
PRISMA_HISTORY_TABLE = "_prisma_migrations"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One Prisma-era table: its name (the same here) and its id-valued columns."""

    name: str
    # target column -> the table its old ids belong to
    references: dict[str, str] = field(default_factory=dict)
    # target columns whose referenced row may be gone (no foreign key in the old schema)
    loose_references: tuple[str, ...] = ()


# In dependency order: a table comes after every table it references.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("users"),
    TableSpec("assets", {"user_id": "users"}),
    TableSpec("clips", {"asset_id": "assets"}),
    TableSpec("predictions", {"clip_id": "clips"}),
    TableSpec("campaigns", {"user_id": "users"}),
    TableSpec("experiments", {"campaign_id": "campaigns"}),
    TableSpec(
        "conversions",
        {"campaign_id": "campaigns", "attributed_clip_id": "clips"},
        loose_references=("attributed_clip_id",),
    ),
    TableSpec("knowledge_documents"),
    TableSpec("performance_metrics", {"asset_id": "assets"}),
)
TABLE_NAMES = tuple(spec.name for spec in TABLES)

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(name: str) -> str:
    """``attributedClipId`` -> ``attributed_clip_id``; snake_case names stay as they are."""
    return _CAMEL.sub("_", name).lower()


def mapped_id(table: str, source_id: str) -> uuid.UUID:
    """The id an old id becomes: the UUID it spells, or its uuid5 in ``ID_NAMESPACE``."""
    try:
        if re.fullmatch(UUID_PATTERN, source_id):
            return uuid.UUID(source_id)
    except ValueError:
        pass
    return uuid.uuid5(ID_NAMESPACE, f"{table}:{source_id}")
