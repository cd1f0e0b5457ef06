"""Reads of the audit log."""

from __future__ import annotations

from typing import Any

from apps.audit.tables import AuditEntry
from apps.core.db_errors import translate_errors


async def audit_entry_list_for_row(
    *, table_name: str, row_id: object, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest entries about one row, newest first."""
    async with translate_errors():
        rows: list[dict[str, Any]] = (
            await AuditEntry.select()
            .where((AuditEntry.table_name == table_name) & (AuditEntry.row_id == str(row_id)))
            .order_by(AuditEntry.created_at, ascending=False)
            .order_by(AuditEntry.id, ascending=False)
            .limit(limit)
            .output(load_json=True)
        )
    return rows
