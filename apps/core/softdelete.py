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

from apps.core.db_errors import translate_errors
from apps.core.errors import NotFoundError, ValidationError


def _deleted_at(table: type[Table]) -> Any:
    column = table._meta.get_column_by_name("deleted_at")
    if column is None:  # pragma: no cover - a programming error
        raise TypeError(f"{table._meta.tablename} has no deleted_at column")
    return column


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
    deleted_at = _deleted_at(table)
    now = datetime.datetime.now(tz=datetime.UTC)
    async with translate_errors():
        rows = (
            await table.update({deleted_at: now})
            .where((table._meta.primary_key == row_id) & deleted_at.is_null())
            .returning(table._meta.primary_key)
        )
    if not rows:
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
    deleted_at = _deleted_at(table)
    async with translate_errors():
        rows = (
            await table.update({deleted_at: None})
            .where((table._meta.primary_key == row_id) & deleted_at.is_not_null())
            .returning(table._meta.primary_key)
        )
    if not rows:
        entity = entity or table._meta.tablename
        raise not_found(f"no deleted {entity} {row_id}", field=field, rule="deleted")


async def purge_rows(table: type[Table], *, older_than: datetime.timedelta) -> int:
    """Hard-delete rows soft-deleted more than ``older_than`` ago; return how many."""
    if older_than < datetime.timedelta(0):
        raise ValidationError("older_than must not be negative", field="older_than", rule="min")
    deleted_at = _deleted_at(table)
    cutoff = datetime.datetime.now(tz=datetime.UTC) - older_than
    async with translate_errors():
        rows = (
            await table.delete()
            .where(deleted_at.is_not_null() & (deleted_at < cutoff))
            .returning(table._meta.primary_key)
        )
    return len(rows)
