"""The row type of the audit log."""

from __future__ import annotations

import datetime
import uuid

from apps.audit.tables import AuditAction, AuditEntry
from apps.core.records import Column, EnumColumn, JsonColumn, Row


class AuditEntryRecord(Row):
    """One entry of the audit log, as it was written (entries are never updated)."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    actor_id = Column[int | None]()
    actor_username = Column[str]()
    action = EnumColumn(AuditAction)
    table_name = Column[str]()
    row_id = Column[str]()
    changes = JsonColumn()
    created_at = Column[datetime.datetime]()


# Every column of audit_entries, for the query builder's ``.returning(...)``.
AUDIT_ENTRY_RETURNING = tuple(AuditEntry._meta.columns)
