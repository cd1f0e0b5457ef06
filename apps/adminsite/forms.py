"""Forms every soft-deletable table shares: restore a row, purge it for good (superuser)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.table import Table
from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from apps.adminsite import selectors, services
from apps.adminsite.crud import request_actor
from apps.ads.tables import Campaign, Experiment
from apps.core.errors import GatewayError
from apps.knowledge.tables import KnowledgeDocument
from apps.media.tables import Asset, Clip
from apps.users.tables import User

SOFT_DELETABLE: dict[str, type[Table]] = {
    table._meta.tablename: table
    for table in (User, Asset, Clip, Campaign, Experiment, KnowledgeDocument)
}


class SoftDeletableTable(StrEnum):
    users = "users"
    assets = "assets"
    clips = "clips"
    campaigns = "campaigns"
    experiments = "experiments"
    knowledge_documents = "knowledge_documents"


class RestoreRow(BaseModel):
    table: SoftDeletableTable
    row_id: uuid.UUID = Field(description="The id of the soft-deleted row.")


class PurgeRow(BaseModel):
    table: SoftDeletableTable
    row_id: uuid.UUID = Field(description="The id of a row that is already soft-deleted.")
    confirm: bool = Field(
        default=False, description="Tick to delete the row and its children for good."
    )


async def restore_row_endpoint(request: Request, data: RestoreRow) -> str:
    """Bring a soft-deleted row (and so its children) back."""
    table = SOFT_DELETABLE[str(data.table)]
    try:
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
    table = SOFT_DELETABLE[str(data.table)]
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
