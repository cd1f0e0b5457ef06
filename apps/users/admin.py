"""Users and API keys in the admin; the "Issue an API key" form shows a new key once."""

from __future__ import annotations

import datetime
import uuid

from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.endpoints import OrderBy, PiccoloCRUD
from piccolo_api.crud.validators import Validators
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import atomic, request_actor
from apps.audit.services import audit_entry_record
from apps.audit.tables import AuditAction
from apps.core.errors import GatewayError
from apps.users.services import api_key_issue
from apps.users.tables import ApiKey, User


class IssueApiKey(BaseModel):
    user_id: uuid.UUID = Field(description="The user's id (copy it from the Users list).")
    name: str = Field(min_length=1, description="A label the owner will recognise.")
    scopes: str = Field(default="", description="Comma-separated, e.g. read,write.")
    expires_in_days: int | None = Field(default=None, ge=1, description="Empty: never.")


async def issue_api_key_endpoint(request: Request, data: IssueApiKey) -> str:
    """Issue a key through the users service; the full key appears in this message only."""
    scopes = tuple(s.strip() for s in data.scopes.split(",") if s.strip())
    expires_at = (
        datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(days=data.expires_in_days)
        if data.expires_in_days
        else None
    )
    try:
        async with atomic(ApiKey):
            issued = await api_key_issue(
                user_id=data.user_id, name=data.name, scopes=scopes, expires_at=expires_at
            )
            await audit_entry_record(
                actor=request_actor(request),
                action=AuditAction.FORM,
                table_name=ApiKey._meta.tablename,
                row_id=issued.record.id,
                changes={
                    "form": {"old": None, "new": "issue an API key"},
                    "user": {"old": None, "new": str(data.user_id)},
                    "name": {"old": None, "new": data.name},
                    "prefix": {"old": None, "new": issued.record.prefix},
                    "scopes": {"old": None, "new": list(scopes)},
                },
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"API key '{data.name}' issued. Copy it now, it is shown only once: {issued.key}"


def _keys_come_from_the_form(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    raise HTTPException(status_code=405, detail="Issue API keys with the 'Issue an API key' form.")


TABLE_CONFIGS = [
    GatewayTableConfig(
        User,
        menu_group="Users",
        visible_columns=[User.email, User.name, User.role, User.created_at, User.deleted_at],
        visible_filters=[User.email, User.name, User.role, User.created_at, User.deleted_at],
        order_by=[OrderBy(User.created_at, ascending=False)],
        link_column=User.email,
    ),
    GatewayTableConfig(
        ApiKey,
        menu_group="Users",
        visible_columns=[
            ApiKey.name,
            ApiKey.prefix,
            ApiKey.user,
            ApiKey.scopes,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.created_at,
        ],
        visible_filters=[
            ApiKey.user,
            ApiKey.name,
            ApiKey.prefix,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.created_at,
        ],
        order_by=[OrderBy(ApiKey.created_at, ascending=False)],
        link_column=ApiKey.name,
        validators=Validators(post_single=[_keys_come_from_the_form]),
    ),
]

FORMS = [
    FormConfig(
        name="Issue an API key",
        pydantic_model=IssueApiKey,
        endpoint=issue_api_key_endpoint,
        description="Creates a key for a user and shows it once; only its hash is stored.",
        form_group="Users",
    )
]
