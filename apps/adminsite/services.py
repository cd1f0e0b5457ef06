"""Writes the admin makes beside Piccolo Admin's own: soft delete, restore, purge, audited."""

from __future__ import annotations

from typing import Any

from piccolo.table import Table

from apps.audit.services import Actor, audit_entry_record, field_changes
from apps.audit.tables import AuditAction
from apps.core.db_errors import translate_errors
from apps.core.errors import NotFoundError
from apps.core.softdelete import restore_row, soft_delete_row


async def admin_row_soft_delete(*, table: type[Table], row_id: object, actor: Actor) -> None:
    """Set ``deleted_at`` on a live row and record it in the audit log."""
    async with table._meta.db.transaction():
        deleted_at = await soft_delete_row(table, row_id=row_id)  # type: ignore[arg-type]
        await audit_entry_record(
            actor=actor,
            action=AuditAction.SOFT_DELETE,
            table_name=table._meta.tablename,
            row_id=row_id,
            changes=field_changes(old={"deleted_at": None}, new={"deleted_at": deleted_at}),
        )


async def admin_row_restore(*, table: type[Table], row_id: object, actor: Actor) -> None:
    """Clear ``deleted_at`` of a soft-deleted row and record it in the audit log."""
    async with table._meta.db.transaction():
        await restore_row(table, row_id=row_id)  # type: ignore[arg-type]
        await audit_entry_record(
            actor=actor,
            action=AuditAction.RESTORE,
            table_name=table._meta.tablename,
            row_id=row_id,
            changes={"deleted_at": {"old": "set", "new": None}},
        )


async def admin_row_purge(
    *, table: type[Table], row_id: object, actor: Actor, last_values: dict[str, Any]
) -> None:
    """Hard-delete one soft-deleted row (children cascade) and record its last values."""
    deleted_at = table._meta.get_column_by_name("deleted_at")
    async with table._meta.db.transaction():
        async with translate_errors():
            rows = (
                await table.delete()
                .where((table._meta.primary_key == row_id) & deleted_at.is_not_null())
                .returning(table._meta.primary_key)
            )
        if not rows:
            raise NotFoundError(
                f"no soft-deleted {table._meta.tablename} {row_id}: delete it first", field="id"
            )
        await audit_entry_record(
            actor=actor,
            action=AuditAction.PURGE,
            table_name=table._meta.tablename,
            row_id=row_id,
            changes=field_changes(old=last_values, new=None),
        )


async def admin_login_create(*, username: str, password: str, email: str) -> None:
    """Create an active admin + superuser login (``piccolo_user``), password hashed."""
    from piccolo.apps.user.tables import BaseUser

    async with translate_errors():
        await BaseUser.create_user(
            username=username,
            password=password,
            email=email,
            active=True,
            admin=True,
            superuser=True,
        )
