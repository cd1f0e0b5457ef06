"""Users and API keys in the admin; the "Issue an API key" form shows a new key once."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.endpoints import OrderBy
from pydantic import BaseModel, Field
from starlette.requests import Request

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import request_actor
from apps.adminsite.pickers import row_picker
from apps.adminsite.services import admin_columns_update, admin_form_record, atomic
from apps.core.errors import GatewayError
from apps.core.validation import not_blank
from apps.users.selectors import user_choices, user_is_live
from apps.users.services import api_key_issue, user_create, user_update
from apps.users.tables import ApiKey, User

# (foreign key, the ids of its parents that are deleted or under a deleted parent)
LIVE_USER = ("user_id", user_is_live)


async def update_user(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """A generic edit of a user: ``user_update`` (email lower-cased and checked, ...)."""
    await user_update(user_id=row_id, **changes)


async def create_user(values: dict[str, Any]) -> uuid.UUID:
    record = await user_create(**values)
    return record.id


async def update_api_key(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Only a key's label is edited here; issue and revoke change the rest."""
    name = not_blank(changes["name"], field="name")
    await admin_columns_update(table=ApiKey, row_id=row_id, values={"name": name})


class IssueApiKey(BaseModel):
    user_id: uuid.UUID = row_picker("users", user_choices, "The key's owner.", listed="live users")
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
            await admin_form_record(
                actor=request_actor(request),
                table=ApiKey,
                row_id=issued.record.id,
                form="issue an API key",
                changes={
                    "user": {"old": None, "new": str(data.user_id)},
                    "name": {"old": None, "new": data.name},
                    "prefix": {"old": None, "new": issued.record.prefix},
                    "scopes": {"old": None, "new": list(scopes)},
                },
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"API key '{data.name}' issued. Copy it now, it is shown only once: {issued.key}"


TABLE_CONFIGS = [
    GatewayTableConfig(
        User,
        menu_group="Users",
        visible_columns=[
            User.id,
            User.email,
            User.name,
            User.role,
            User.created_at,
            User.deleted_at,
        ],
        visible_filters=[User.email, User.name, User.role, User.created_at, User.deleted_at],
        order_by=[OrderBy(User.created_at, ascending=False)],
        link_column=User.email,
        editable_columns=[User.email, User.name, User.role, User.settings],
        update=update_user,
        create=create_user,
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
        create_hint="the 'Issue an API key' form",
        editable_columns=[ApiKey.name],
        read_only_hints={"revoked_at": "revoke the key through the users service"},
        update=update_api_key,
        live_parents=LIVE_USER,
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
