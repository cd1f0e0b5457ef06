"""Every write the admin makes, with its audit entry in the same transaction.

:func:`admin_audit_record` is the one place an admin action is written to the audit log;
the generic edit (:func:`admin_row_update`, :func:`admin_row_create`), soft delete, restore,
purge and every form go through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from piccolo.columns.base import Column
from piccolo.table import Table

from apps.audit.services import Actor, audit_entry_record, field_changes
from apps.audit.tables import AuditAction
from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.core.errors import NotFoundError
from apps.core.records import Row
from apps.core.softdelete import restore_row, soft_delete_row


@asynccontextmanager
async def atomic(table: type[Table]) -> AsyncIterator[None]:
    """A transaction, or a savepoint inside the caller's: a refused write leaves no trace."""
    engine = table._meta.db
    current = engine.current_transaction.get()
    if current is None:
        async with engine.transaction():
            yield
        return
    point = await current.savepoint()
    try:
        yield
    except BaseException:
        await point.rollback_to()
        raise
    await point.release()


async def admin_audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    table: type[Table],
    row_id: object,
    changes: Mapping[str, Any],
) -> None:
    """Record one admin action in the audit log (in the caller's transaction)."""
    await audit_entry_record(
        actor=actor,
        action=action,
        table_name=table._meta.tablename,
        row_id=row_id,
        changes=changes,
    )


async def _record_change(
    actor: Actor,
    action: AuditAction,
    table: type[Table],
    row_id: object,
    *,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
) -> None:
    """Record ``action`` with the fields that went from ``old`` to ``new``."""
    await admin_audit_record(
        actor=actor,
        action=action,
        table=table,
        row_id=row_id,
        changes=field_changes(old=old, new=new),
    )


async def admin_form_record(
    *,
    actor: Actor,
    table: type[Table],
    row_id: object,
    form: str,
    changes: Mapping[str, Any],
) -> None:
    """Record a form's action: ``{"form": name, field: {"old": ..., "new": ...}, ...}``."""
    await admin_audit_record(
        actor=actor,
        action=AuditAction.FORM,
        table=table,
        row_id=row_id,
        changes={"form": {"old": None, "new": form}, **changes},
    )


async def admin_row_update(
    *,
    table: type[Table],
    row_id: object,
    actor: Actor,
    changes: dict[str, Any],
    update: Callable[[Any, dict[str, Any]], Awaitable[None]],
    snapshot: Callable[[], Awaitable[dict[str, Any] | None]],
) -> dict[str, Any] | None:
    """Write ``changes`` (changed editable fields only) through the owning app's ``update``
    service and audit what really changed; returns the row after the write.

    Nothing to change: nothing written, nothing audited.
    """
    if not changes:
        return await snapshot()
    async with atomic(table):
        old = await snapshot()
        await update(row_id, changes)
        new = await snapshot()
        difference = field_changes(old=old, new=new)
        if difference:
            await admin_audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                table=table,
                row_id=row_id,
                changes=difference,
            )
    return new


async def admin_row_create(
    *,
    table: type[Table],
    actor: Actor,
    values: dict[str, Any],
    create: Callable[[dict[str, Any]], Awaitable[Any]],
    snapshot: Callable[[Any], Awaitable[dict[str, Any] | None]],
) -> Any:
    """Create a row through the owning app's ``create`` service and audit it; its id."""
    async with atomic(table):
        row_id = await create(values)
        new = await snapshot(row_id)
        await _record_change(actor, AuditAction.CREATE, table, row_id, old=None, new=new)
    return row_id


async def admin_row_soft_delete(*, table: type[Table], row_id: object, actor: Actor) -> None:
    """Set ``deleted_at`` on a live row and record it in the audit log."""
    async with table._meta.db.transaction():
        deleted_at = await soft_delete_row(table, row_id=row_id)  # type: ignore[arg-type]
        await _record_change(
            actor,
            AuditAction.SOFT_DELETE,
            table,
            row_id,
            old={"deleted_at": None},
            new={"deleted_at": deleted_at},
        )


async def admin_row_restore(*, table: type[Table], row_id: object, actor: Actor) -> None:
    """Clear ``deleted_at`` of a soft-deleted row and record it in the audit log."""
    async with table._meta.db.transaction():
        await restore_row(table, row_id=row_id)  # type: ignore[arg-type]
        await admin_audit_record(
            actor=actor,
            action=AuditAction.RESTORE,
            table=table,
            row_id=row_id,
            changes={"deleted_at": {"old": "set", "new": None}},
        )


async def admin_row_purge(
    *, table: type[Table], row_id: object, actor: Actor, last_values: dict[str, Any]
) -> None:
    """Hard-delete one soft-deleted row (children cascade) and record its last values."""
    deleted_at = table._meta.get_column_by_name("deleted_at")
    async with table._meta.db.transaction():
        purged = await rawsql.fetchrow_query(
            table.delete()
            .where((table._meta.primary_key == row_id) & deleted_at.is_not_null())
            .returning(table._meta.primary_key),
            record_class=Row,
        )
        if purged is None:
            raise NotFoundError(
                f"no soft-deleted {table._meta.tablename} {row_id}: delete it first", field="row_id"
            )
        await _record_change(actor, AuditAction.PURGE, table, row_id, old=last_values, new=None)


#: The flags of the first admin login: active, may enter the admin, may do everything there.
_ADMIN = {"active": True, "admin": True, "superuser": True}


async def admin_login_create(*, username: str, password: str, email: str) -> None:
    """Create an active admin + superuser login (``piccolo_user``), password hashed."""
    from piccolo.apps.user.tables import BaseUser

    async with translate_errors():
        await BaseUser.create_user(username=username, password=password, email=email, **_ADMIN)


async def admin_columns_update(
    *, table: type[Table], row_id: object, values: dict[str, Any]
) -> None:
    """Set already validated ``values`` (by column name) on a live row, for tables whose app
    has no update service for the fields the admin may edit (normalised by that app's own
    validation functions in its ``admin.py``)."""
    names = {c._meta.name for c in table._meta.columns}
    condition: Any = table._meta.primary_key == row_id
    if "deleted_at" in names:
        condition = condition & table._meta.get_column_by_name("deleted_at").is_null()
    columns: dict[Column | str, Any] = {name: value for name, value in values.items()}
    updated = await rawsql.fetchrow_query(
        table.update(columns).where(condition).returning(table._meta.primary_key),
        record_class=Row,
    )
    if updated is None:
        raise NotFoundError(
            f"{table._meta.tablename} {row_id} not found", field="row_id", rule="exists"
        )


_FORGET_FAILURES_OF_EVERYONE = rawsql.statement(
    "DELETE FROM admin_login_failures WHERE failed_at <= to_timestamp($1)", owner=__name__
)
_FORGET_FAILURES_OF_KEYS = rawsql.statement(
    "DELETE FROM admin_login_failures "
    "WHERE failed_at <= to_timestamp($1) AND key = ANY($2::text[])",
    owner=__name__,
)
_RECORD_FAILURES = rawsql.statement(
    "INSERT INTO admin_login_failures (key, failed_at) "
    "SELECT key, to_timestamp($1) FROM unnest($2::text[]) AS k(key)",
    owner=__name__,
)


async def login_failure_record(
    *, keys: list[str], at: float, forget_before: float, everyone: bool = False
) -> None:
    """Count a failed admin login at ``at`` (epoch seconds) against each of ``keys``, and
    delete the failures at or before ``forget_before`` (of these keys; of every key with
    ``everyone``), which no longer count."""
    from apps.audit.tables import AdminLoginFailure

    engine = rawsql.engine_of(AdminLoginFailure)
    async with translate_errors(), atomic(AdminLoginFailure):
        if everyone:
            await rawsql.fetchval(engine, _FORGET_FAILURES_OF_EVERYONE, forget_before)
        else:
            await rawsql.fetchval(engine, _FORGET_FAILURES_OF_KEYS, forget_before, keys)
        await rawsql.fetchval(engine, _RECORD_FAILURES, at, keys)
