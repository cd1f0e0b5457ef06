"""Reads of the audit log."""

from __future__ import annotations

from typing import Any

from apps.audit.records import AuditEntryRecord
from apps.audit.tables import AuditEntry
from apps.core import rawsql


async def audit_entry_list_for_row(
    *, table_name: str, row_id: object, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest entries about one row, newest first, each as a dict (``changes`` decoded,
    ``action`` an :class:`~apps.audit.tables.AuditAction`)."""
    rows = await rawsql.fetch_query(
        AuditEntry.select()
        .where((AuditEntry.table_name == table_name) & (AuditEntry.row_id == str(row_id)))
        .order_by(AuditEntry.created_at, ascending=False)
        .order_by(AuditEntry.id, ascending=False)
        .limit(limit),
        record_class=AuditEntryRecord,
    )
    return [row.as_dict() for row in rows]
