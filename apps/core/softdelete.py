"""Soft delete, restore and purge, shared by every soft-deletable table.

A soft-deleted row has ``deleted_at`` set. Its children are not touched: default reads hide
them because they join to the parent and require ``parent.deleted_at IS NULL``, so restoring
the parent brings them back as they were. Purge hard-deletes rows deleted more than a given
age ago; foreign keys cascade to their children.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from piccolo.table import Table

from apps.core import rawsql
from apps.core.errors import NotFoundError, ValidationError
from apps.core.records import Row


def _deleted_at(table: type[Table]) -> Any:
    column = table._meta.get_column_by_name("deleted_at")
    if column is None:  # pragma: no cover - a programming error
        raise TypeError(f"{table._meta.tablename} has no deleted_at column")
    return column


async def _set_deleted_at(
    table: type[Table], row_id: uuid.UUID, value: datetime.datetime | None
) -> bool:
    """Stamp (``value``) a live row or clear (None) a deleted one; whether a row changed."""
    deleted_at = _deleted_at(table)
    now_deleted = deleted_at.is_null() if value is not None else deleted_at.is_not_null()
    query = (
        table.update({deleted_at: value})
        .where((table._meta.primary_key == row_id) & now_deleted)
        .returning(table._meta.primary_key)
    )
    return await rawsql.fetchrow_query(query, record_class=Row) is not None


async def soft_delete_row(
    table: type[Table],
    *,
    row_id: uuid.UUID,
    not_found: type[NotFoundError] = NotFoundError,
    field: str = "id",
    entity: str | None = None,
) -> datetime.datetime:
    """Mark a live row deleted; return the time. ``not_found`` (naming ``field``) when the
    row is absent or already deleted; ``entity`` names the row in the message."""
    now = datetime.datetime.now(tz=datetime.UTC)
    if not await _set_deleted_at(table, row_id, now):
        entity = entity or table._meta.tablename
        raise not_found(f"{entity} {row_id} not found", field=field, rule="exists")
    return now


async def restore_row(
    table: type[Table],
    *,
    row_id: uuid.UUID,
    not_found: type[NotFoundError] = NotFoundError,
    field: str = "id",
    entity: str | None = None,
) -> None:
    """Bring a soft-deleted row (and so its children) back; ``not_found`` when no such
    deleted row exists."""
    if not await _set_deleted_at(table, row_id, None):
        entity = entity or table._meta.tablename
        raise not_found(f"no deleted {entity} {row_id}", field=field, rule="deleted")


async def purge_rows(table: type[Table], *, older_than: datetime.timedelta) -> int:
    """Hard-delete rows soft-deleted more than ``older_than`` ago; return how many."""
    if older_than < datetime.timedelta(0):
        raise ValidationError("older_than must not be negative", field="older_than", rule="min")
    deleted_at = _deleted_at(table)
    cutoff = datetime.datetime.now(tz=datetime.UTC) - older_than
    query = (
        table.delete()
        .where(deleted_at.is_not_null() & (deleted_at < cutoff))
        .returning(table._meta.primary_key)
    )
    return len(await rawsql.fetch_query(query, record_class=Row))
