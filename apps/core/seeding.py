"""Shared pieces of the apps' ``seed.py``: stable ids and the report of one seed run.

Sample rows get fixed ids (a UUIDv5 of a natural key), so running the seed again finds
them instead of adding copies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

SEED_NAMESPACE = uuid.UUID("5f0c3f9e-3c1d-4d4a-9a8e-6f1e2b7d9c41")


def seed_id(kind: str, key: str) -> uuid.UUID:
    """The fixed id of sample row ``key`` of table ``kind`` (the same on every run)."""
    return uuid.uuid5(SEED_NAMESPACE, f"{kind}:{key}")


@dataclass
class SeedReport:
    """Rows of the sample data per table, how many this run created, and lines to print
    once (new API keys)."""

    rows: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def count(self, table: str, *, rows: int, created: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.created[table] = self.created.get(table, 0) + created

    def merge(self, other: SeedReport) -> None:
        for table, rows in other.rows.items():
            self.count(table, rows=rows, created=other.created.get(table, 0))
        self.secrets.extend(other.secrets)
