"""Users of the platform and their API keys."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import JSONB, Array, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.readable import Readable
from piccolo.constraints import Check
from piccolo.table import Table

from apps.core.schema import (
    created_at_column,
    deleted_at_column,
    id_column,
    one_of,
    updated_at_column,
)


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"
    ENTERPRISE = "ENTERPRISE"


class User(Table, tablename="users"):
    """A person or organisation using the platform. Email is unique case-insensitively
    (a unique index on ``lower(email)``, added by a migration)."""

    id = id_column()

    @classmethod
    def get_readable(cls) -> Readable:
        """How the admin names a user wherever one is referenced (lists, pickers)."""
        return Readable(template="%s", columns=[cls.email])

    email = Text(required=True, default=None)
    name = Text(required=True, default=None)
    role = Text(default=Role.USER, choices=Role)
    password_hash = Text(null=True, default=None, secret=True)
    settings = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    role_is_valid = one_of("role", Role)
    email_is_valid = Check("email LIKE '_%@_%' AND email = btrim(email)")
    name_not_blank = Check("btrim(name) <> ''")


class ApiKey(Table, tablename="api_keys"):
    """A hashed API key; the full key is shown once, at creation, and never stored."""

    id = id_column()
    user = ForeignKey(
        User, on_delete=OnDelete.cascade, null=False, index=True, db_column_name="user_id"
    )
    name = Text(required=True, default=None)
    prefix = Text(required=True, default=None)
    key_hash = Text(unique=True, required=True, default=None, secret=True)
    scopes = Array(base_column=Text(), default=list)
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = created_at_column()

    prefix_not_blank = Check("btrim(prefix) <> ''")
