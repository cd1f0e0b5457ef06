"""The row types of the users app, and the SELECT lists that build them.

A :class:`UserRecord` or :class:`ApiKeyRecord` is an asyncpg record (``apps.core.records.Row``)
built in C while the result is decoded. Their column lists come from ``tables.py`` through
:func:`apps.core.rawsql.columns`, so a column added, renamed or dropped there reaches every
statement; the secrets (``password_hash``, ``key_hash``) are left out of both lists.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from apps.core import rawsql
from apps.core.records import Column, EnumColumn, JsonColumn, Row
from apps.users.tables import ApiKey, Role, User


class UserRecord(Row):
    """A user as reads return it; the password hash never leaves the database layer."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    email = Column[str]()
    name = Column[str]()
    role = EnumColumn(Role)
    settings = JsonColumn()
    has_password = Column[bool]()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()
    deleted_at = Column[datetime.datetime | None]()


class ApiKeyRecord(Row):
    """An API key as its owner may see it: the display prefix, never the key or its hash."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    user_id = Column[uuid.UUID]()
    name = Column[str]()
    prefix = Column[str]()
    scopes = Column[list[str]]()
    last_used_at = Column[datetime.datetime | None]()
    expires_at = Column[datetime.datetime | None]()
    revoked_at = Column[datetime.datetime | None]()
    created_at = Column[datetime.datetime]()


def user_columns(alias: str | None = None) -> str:
    """The SELECT list of a :class:`UserRecord`: every column of ``users`` but the password
    hash, plus ``has_password`` computed from it."""
    prefix = f"{alias}." if alias else ""
    return (
        f"{rawsql.columns(User, alias, exclude=('password_hash',))}, "
        f"{prefix}password_hash IS NOT NULL AS has_password"
    )


USER_COLUMNS = user_columns()
# Every column of api_keys but the hash of the key, from the alias ``k``.
API_KEY_COLUMNS = rawsql.columns(ApiKey, "k", exclude=("key_hash",))
# The same columns as Piccolo columns, for the query builder's ``.returning(...)``.
API_KEY_RETURNING = tuple(
    column for column in ApiKey._meta.columns if column._meta.name != "key_hash"
)


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new API key: ``key`` is the full secret, returned this once and never stored."""

    key: str = field(repr=False)
    record: ApiKeyRecord


@dataclass(frozen=True, slots=True)
class ApiKeyPrincipal:
    """Who a verified API key speaks for, and with which scopes."""

    key_id: uuid.UUID
    user_id: uuid.UUID
    scopes: list[str]
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
