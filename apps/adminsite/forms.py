"""Forms every soft-deletable table shares: restore a row, purge it for good (superuser)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

from piccolo.table import Table
from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request

from apps.adminsite import registry, selectors, services
from apps.adminsite.crud import request_actor
from apps.adminsite.pickers import row_picker
from apps.core.errors import GatewayError, NotFoundError

#: Every registered table with a ``deleted_at`` column, by name (see ``registry``).
SOFT_DELETABLE: dict[str, type[Table]] = registry.soft_deletable_tables()

if TYPE_CHECKING:
    SoftDeletableTable = str
else:
    # The form's choice of table: one member per soft-deletable table of the registry.
    SoftDeletableTable = StrEnum("SoftDeletableTable", {name: name for name in SOFT_DELETABLE})


TABLE_HINT = "Optional: found from the row when empty."
DELETED_ROWS = "soft-deleted rows of every table, latest deletion first"


def _blank_is_none(value: object) -> object:
    """The form sends an untouched select as ""; the field is optional."""
    return None if value == "" else value


class RestoreRow(BaseModel):
    row_id: uuid.UUID = row_picker(
        "deleted_rows",
        selectors.deleted_row_choices,
        "The soft-deleted row.",
        listed=DELETED_ROWS,
    )
    table: SoftDeletableTable | None = Field(default=None, description=TABLE_HINT)

    _table_blank = field_validator("table", mode="before")(_blank_is_none)


class PurgeRow(BaseModel):
    row_id: uuid.UUID = row_picker(
        "deleted_rows",
        selectors.deleted_row_choices,
        "A row that is already soft-deleted.",
        listed=DELETED_ROWS,
    )
    table: SoftDeletableTable | None = Field(default=None, description=TABLE_HINT)

    _table_blank = field_validator("table", mode="before")(_blank_is_none)

    confirm: bool = Field(
        default=False, description="Tick to delete the row and its children for good."
    )


async def _deleted_table(data: RestoreRow | PurgeRow) -> type[Table]:
    """The table of the soft-deleted row: the one named, or the one that holds it."""
    if data.table is not None:
        return SOFT_DELETABLE[str(data.table)]
    name = await selectors.soft_deleted_table(row_id=data.row_id)
    if name is None:
        raise NotFoundError(f"no soft-deleted row has the id {data.row_id}", field="row_id")
    return SOFT_DELETABLE[name]


async def restore_row_endpoint(request: Request, data: RestoreRow) -> str:
    """Bring a soft-deleted row (and so its children) back."""
    try:
        table = await _deleted_table(data)
        await services.admin_row_restore(
            table=table, row_id=data.row_id, actor=request_actor(request)
        )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Restored {table._meta.tablename} {data.row_id}."


async def purge_row_endpoint(request: Request, data: PurgeRow) -> str:
    """Hard-delete a soft-deleted row; superusers only."""
    user = getattr(request.user, "user", None)
    if not getattr(user, "superuser", False):
        raise ValueError("Only a superuser can purge rows.")
    if not data.confirm:
        raise ValueError("Tick confirm to purge the row for good.")
    try:
        table = await _deleted_table(data)
    except GatewayError as error:
        raise ValueError(error.message) from None
    secrets = {c._meta.name for c in table._meta.secret_columns}
    columns = [
        c
        for c in table._meta.columns
        if c._meta.name not in secrets and c.column_type.lower().startswith("vector") is False
    ]
    last_values = await selectors.row_snapshot(table=table, row_id=data.row_id, columns=columns)
    try:
        await services.admin_row_purge(
            table=table,
            row_id=data.row_id,
            actor=request_actor(request),
            last_values=last_values or {},
        )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Purged {table._meta.tablename} {data.row_id} for good."


FORMS = [
    FormConfig(
        name="Restore a deleted row",
        pydantic_model=RestoreRow,
        endpoint=restore_row_endpoint,
        description="Deleting from the admin only hides a row; this brings it back. "
        "To see deleted rows, filter the list on 'Deleted at' (is not null).",
        form_group="Soft delete",
    ),
    FormConfig(
        name="Purge a deleted row",
        pydantic_model=PurgeRow,
        endpoint=purge_row_endpoint,
        description="Superusers only: deletes a soft-deleted row and its children for good.",
        form_group="Soft delete",
    ),
]
