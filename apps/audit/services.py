"""Writes of the audit log: one entry per change made through the admin."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from collections.abc import Mapping
from typing import Any

from apps.audit.records import AUDIT_ENTRY_RETURNING, AuditEntryRecord
from apps.audit.tables import AuditAction, AuditEntry
from apps.core import rawsql

SECRET_MARK = "***"
# Kept out of the trail: the database sets them on every write.
UNTRACKED_FIELDS = frozenset({"updated_at", "created_at"})


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who did it: the admin login (``piccolo_user``)."""

    id: int | None
    username: str


def json_safe(value: Any) -> Any:
    """``value`` as JSON: decimals and times as strings, so nothing loses precision."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return str(value)


def field_changes(
    *,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    secret_fields: frozenset[str] = frozenset(),
) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for each field that differs; secrets masked."""
    old = old or {}
    new = new or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(old) | set(new)):
        if name in UNTRACKED_FIELDS:
            continue
        before, after = json_safe(old.get(name)), json_safe(new.get(name))
        if before == after:
            continue
        if name in secret_fields:
            before = SECRET_MARK if before is not None else None
            after = SECRET_MARK if after is not None else None
        changes[name] = {"old": before, "new": after}
    return changes


async def audit_entry_record(
    *,
    actor: Actor,
    action: AuditAction,
    table_name: str,
    row_id: object,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntryRecord:
    """Append one entry to the audit log (inside the caller's transaction, if any)."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_username=actor.username,
        action=action.value,
        table_name=table_name,
        row_id=str(row_id),
        changes=json_safe(dict(changes or {})),
    )
    row = await rawsql.fetchrow_query(
        AuditEntry.insert(entry).returning(*AUDIT_ENTRY_RETURNING), record_class=AuditEntryRecord
    )
    assert row is not None  # an INSERT ... RETURNING returns its row
    return row
