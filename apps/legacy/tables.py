"""What the Prisma-era import keeps between runs: the id map, the quarantine, the marks."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Text, Timestamptz
from piccolo.constraints import Unique
from piccolo.table import Table

from apps.core.schema import created_at_column, id_column


class PrismaIdMap(Table, tablename="prisma_id_map"):
    """An old id that was not a UUID, and the uuid5 it became (see docs/import-prisma.md)."""

    id = id_column()
    source_table = Text(required=True, default=None)
    source_id = Text(required=True, default=None)
    target_id = UUID(required=True, default=None, index=True)
    created_at = created_at_column()

    id_map_source_key = Unique(["source_table", "source_id"])


class PrismaQuarantine(Table, tablename="prisma_quarantine"):
    """A source row the new rules refuse, kept whole with the rules it broke."""

    id = id_column()
    source_table = Text(required=True, default=None)
    source_id = Text(required=True, default=None)
    rules = Array(base_column=Text(), default=list)
    row = JSONB(default={})
    created_at = created_at_column()
    seen_at = Timestamptz()

    quarantine_source_key = Unique(["source_table", "source_id"])


class PrismaWatermark(Table, tablename="prisma_watermark"):
    """Per source table with ``updatedAt``: the largest ``updatedAt`` imported so far.

    The next run reads only the rows at or after it (less a safety margin); see
    docs/import-prisma.md.
    """

    id = id_column()
    source_table = Text(required=True, default=None)
    mark = Timestamptz(required=True, default=None)
    created_at = created_at_column()

    watermark_source_key = Unique(["source_table"])
