"""Reads of the users app: users and their API keys.

Every read hides soft-deleted users (and the keys of soft-deleted users) unless it says
otherwise. Lists are keyset-paginated with signed cursors (:mod:`apps.core.pagination`).
The SQL is written out (see :mod:`apps.core.rawsql` for why); each query is served by an
index named next to it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from apps.core import rawsql
from apps.core.keyset import cursor_after, keyset_page
from apps.core.pagination import Page, page_size
from apps.core.validation import one_of, validated
from apps.users.errors import ApiKeyNotFoundError, UserNotFoundError
from apps.users.records import API_KEY_COLUMNS, USER_COLUMNS, ApiKeyRecord, UserRecord
from apps.users.tables import ApiKey, Role, User


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


def _user_list_sql(*, include_deleted: bool, after: bool) -> str:
    # Newest first; the index users_created_at_id on (created_at, id), read backwards,
    # serves both the order and the row comparison.
    conditions = ["($1::text IS NULL OR role = $1)"]
    if not include_deleted:
        conditions.append("deleted_at IS NULL")
    if after:
        conditions.append("(created_at, id) < ($3, $4)")
    return rawsql.statement(
        f"SELECT {USER_COLUMNS} FROM users WHERE {' AND '.join(conditions)} "
        "ORDER BY created_at DESC, id DESC LIMIT $2",
        owner=__name__,
    )


_USER_LIST_SQL = {
    (include_deleted, after): _user_list_sql(include_deleted=include_deleted, after=after)
    for include_deleted in (False, True)
    for after in (False, True)
}


@validated
async def user_list(
    *,
    role: Role | str | None = None,
    include_deleted: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[UserRecord]:
    """Users, newest first, one page at a time; pass ``next_cursor`` back for the next page."""
    size = page_size(limit)
    role_value = one_of(Role, role, field="role").value if role is not None else None
    list_name = f"users:{role_value}:{include_deleted}"
    args: list[Any] = [role_value, size + 1]
    if cursor is not None:
        args += cursor_after(cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID))
    sql = _USER_LIST_SQL[(include_deleted, cursor is not None)]
    rows = await rawsql.fetch(rawsql.engine_of(User), sql, *args, record_class=UserRecord)
    return keyset_page(
        rows,
        limit=size,
        list_name=list_name,
        key=lambda user: (user.created_at, user.id),
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


def _api_key_list_sql(*, include_revoked: bool, after: bool) -> str:
    # A user has few keys: the index api_keys_user_id finds them, the sort is trivial.
    conditions = ["k.user_id = $1", user_is_live("$1")]
    if not include_revoked:
        conditions.append("k.revoked_at IS NULL")
    if after:
        conditions.append("(k.created_at, k.id) < ($3, $4)")
    return rawsql.statement(
        f"SELECT {API_KEY_COLUMNS} FROM api_keys k WHERE {' AND '.join(conditions)} "
        "ORDER BY k.created_at DESC, k.id DESC LIMIT $2",
        owner=__name__,
    )


_API_KEY_LIST_SQL = {
    (include_revoked, after): _api_key_list_sql(include_revoked=include_revoked, after=after)
    for include_revoked in (False, True)
    for after in (False, True)
}


@validated
async def api_key_list(
    *,
    user_id: uuid.UUID,
    include_revoked: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ApiKeyRecord]:
    """A live user's API keys, newest first (empty when the user is not live)."""
    size = page_size(limit)
    list_name = f"api_keys:{user_id}:{include_revoked}"
    args: list[Any] = [user_id, size + 1]
    if cursor is not None:
        args += cursor_after(cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID))
    sql = _API_KEY_LIST_SQL[(include_revoked, cursor is not None)]
    rows = await rawsql.fetch(rawsql.engine_of(ApiKey), sql, *args, record_class=ApiKeyRecord)
    return keyset_page(
        rows,
        limit=size,
        list_name=list_name,
        key=lambda key: (key.created_at, key.id),
    )
