"""Reads of the users app: users and their API keys.

Every read hides soft-deleted users (and the keys of soft-deleted users) unless it says
otherwise. Lists are keyset-paginated with signed cursors (:mod:`apps.core.pagination`).
The SQL is written out (see :mod:`apps.core.rawsql` for why); each query is served by an
index named next to it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TypeVar

from apps.core import rawsql
from apps.core.keyset import KeysetList, optional
from apps.core.pagination import Page
from apps.core.records import Row
from apps.core.validation import one_of, validated
from apps.users.errors import ApiKeyNotFoundError, UserNotFoundError
from apps.users.records import API_KEY_COLUMNS, USER_COLUMNS, ApiKeyRecord, UserRecord
from apps.users.tables import ApiKey, Role, User

R = TypeVar("R", bound=Row)


def user_is_live(user_id: str) -> str:
    """The SQL condition "the user ``user_id`` exists and is not soft-deleted".

    The users app's one definition of a live user, for the SQL of the apps whose rows hang
    off a user (``user_is_live("a.user_id")``); they never read the users table themselves.
    ``user_id`` is a column reference or a ``$n`` parameter. Served by the primary key.
    """
    return (
        "EXISTS (SELECT 1 FROM users live_u "
        f"WHERE live_u.id = {user_id} AND live_u.deleted_at IS NULL)"
    )


def user_label(user_id: str) -> str:
    """The SQL expression labelling the user ``user_id`` for people (its email), for the
    labels other apps show beside their rows; ``user_id`` a column reference or ``$n``."""
    return f"(SELECT label_u.email FROM users label_u WHERE label_u.id = {user_id})"


def user_not_found(user_id: uuid.UUID) -> UserNotFoundError:
    """The error for a user id that no live user has."""
    return UserNotFoundError(f"user {user_id} not found", field="user_id", rule="exists")


def api_key_not_found(api_key_id: uuid.UUID) -> ApiKeyNotFoundError:
    """The error for an API key id that no key of a live user has."""
    return ApiKeyNotFoundError(f"API key {api_key_id} not found", field="api_key_id", rule="exists")


def normalize_email(email: str) -> str:
    """The stored form of an email: surrounding blanks removed, lower case."""
    return email.strip().lower()


_USER_BY_ID = rawsql.statement(
    f"SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL", owner=__name__
)
_USER_BY_ID_ANY = rawsql.statement(
    f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", owner=__name__
)
# Served by the unique index users_email_lower_key on lower(email).
_USER_BY_EMAIL = rawsql.statement(
    f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = $1 AND deleted_at IS NULL",
    owner=__name__,
)


@validated
async def user_get(*, user_id: uuid.UUID, include_deleted: bool = False) -> UserRecord:
    """The user with this id; UserNotFoundError when absent (or soft-deleted, by default)."""
    sql = _USER_BY_ID_ANY if include_deleted else _USER_BY_ID
    row = await rawsql.fetchrow(rawsql.engine_of(User), sql, user_id, record_class=UserRecord)
    if row is None:
        raise user_not_found(user_id)
    return row


@validated
async def user_get_by_email(*, email: str) -> UserRecord:
    """The live user with this email, compared case-insensitively; UserNotFoundError if none."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(User), _USER_BY_EMAIL, normalize_email(email), record_class=UserRecord
    )
    if row is None:
        raise UserNotFoundError("no user has this email", field="email", rule="exists")
    return row


# Newest first; the index users_created_at_id on (created_at, id), read backwards, serves
# both the order and the row comparison.
_USER_LIST: KeysetList[UserRecord] = KeysetList(
    User,
    select=f"SELECT {USER_COLUMNS} FROM users",
    filters={"role": optional("role = $?"), "live": optional("deleted_at IS NULL")},
    order=(("created_at", "DESC"), ("id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=UserRecord,
    owner=__name__,
)


@validated
async def user_list(
    *,
    role: Role | str | None = None,
    include_deleted: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[UserRecord]:
    """Users, newest first, one page at a time; pass ``next_cursor`` back for the next page."""
    role_value = one_of(Role, role, field="role").value if role is not None else None
    return await _USER_LIST.page(
        limit=limit,
        cursor=cursor,
        list_name=f"users:{role_value}:{include_deleted}",
        role=role_value,
        live=not include_deleted,
    )


_API_KEY_BY_ID = rawsql.statement(
    f"SELECT {API_KEY_COLUMNS} FROM api_keys k WHERE k.id = $1 AND {user_is_live('k.user_id')}",
    owner=__name__,
)


@validated
async def api_key_get(*, api_key_id: uuid.UUID) -> ApiKeyRecord:
    """The API key with this id (display data only); ApiKeyNotFoundError when absent."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(ApiKey), _API_KEY_BY_ID, api_key_id, record_class=ApiKeyRecord
    )
    if row is None:
        raise api_key_not_found(api_key_id)
    return row


# A user has few keys: the index api_keys_user_id finds them, the sort is trivial.
_API_KEY_LIST: KeysetList[ApiKeyRecord] = KeysetList(
    ApiKey,
    select=f"SELECT {API_KEY_COLUMNS} FROM api_keys k",
    where=("k.user_id = $1", user_is_live("$1")),
    filters={"active": optional("k.revoked_at IS NULL")},
    order=(("k.created_at", "DESC"), ("k.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=ApiKeyRecord,
    owner=__name__,
)


@validated
async def api_key_list(
    *,
    user_id: uuid.UUID,
    include_revoked: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ApiKeyRecord]:
    """A live user's API keys, newest first (empty when the user is not live)."""
    return await _API_KEY_LIST.page(
        user_id,
        limit=limit,
        cursor=cursor,
        list_name=f"api_keys:{user_id}:{include_revoked}",
        active=not include_revoked,
    )


_USER_CHOICES = rawsql.statement(
    "SELECT u.id, u.email || ' · ' || u.name AS label FROM users u "
    f"WHERE {user_is_live('u.id')} ORDER BY u.created_at DESC, u.id DESC LIMIT $1",
    owner=__name__,
)


@validated
async def user_choices(*, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` live users, newest first, with a label (email · name) for pickers."""
    return await rawsql.fetch_choices(User, _USER_CHOICES, limit)
