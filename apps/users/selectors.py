"""Reads of the users app: users and their API keys.

Every read hides soft-deleted users (and the keys of soft-deleted users) unless it says
otherwise. Lists are keyset-paginated with signed cursors (:mod:`apps.core.pagination`).
The SQL is written out (see :mod:`apps.core.rawsql` for why); each query is served by an
index named next to it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from piccolo.table import Table

from apps.core import rawsql
from apps.core.keyset import cursor_after, keyset_page
from apps.core.pagination import Page, page_size
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


def _newest_first(
    select_list: str, table: str, conditions: list[str], *, after: bool, alias: str = ""
) -> str:
    """A page of ``table``'s rows newest first, keyset on (created_at, id): ``$2`` is the page
    size plus one, ``$3, $4`` the cursor's key when ``after``."""
    prefix, source = (f"{alias}.", f"{table} {alias}") if alias else ("", table)
    if after:
        conditions = [*conditions, f"({prefix}created_at, {prefix}id) < ($3, $4)"]
    return (
        f"SELECT {select_list} FROM {source} WHERE {' AND '.join(conditions)} "
        f"ORDER BY {prefix}created_at DESC, {prefix}id DESC LIMIT $2"
    )


def _variants(build: Callable[[bool, bool], str]) -> dict[tuple[bool, bool], str]:
    """Every variant of a list statement, keyed by (its filter flag, after a cursor), each
    built and registered at import time."""
    return {
        (flag, after): rawsql.statement(build(flag, after), owner=__name__)
        for flag in (False, True)
        for after in (False, True)
    }


async def _page(
    table: type[Table],
    sql: str,
    args: list[Any],
    *,
    size: int,
    cursor: str | None,
    list_name: str,
    record_class: type[R],
) -> Page[R]:
    """Run one of the list statements (``sql`` is the variant for ``cursor``) and page it."""
    if cursor is not None:
        args += cursor_after(cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID))
    rows = await rawsql.fetch(rawsql.engine_of(table), sql, *args, record_class=record_class)
    return keyset_page(
        rows, limit=size, list_name=list_name, key=lambda row: (row["created_at"], row["id"])
    )


# Newest first; the index users_created_at_id on (created_at, id), read backwards, serves
# both the order and the row comparison.
_USER_LIST_SQL = _variants(
    lambda include_deleted, after: _newest_first(
        USER_COLUMNS,
        "users",
        ["($1::text IS NULL OR role = $1)"] + ([] if include_deleted else ["deleted_at IS NULL"]),
        after=after,
    )
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
    size = page_size(limit)
    role_value = one_of(Role, role, field="role").value if role is not None else None
    list_name = f"users:{role_value}:{include_deleted}"
    return await _page(
        User,
        _USER_LIST_SQL[(include_deleted, cursor is not None)],
        [role_value, size + 1],
        size=size,
        cursor=cursor,
        list_name=list_name,
        record_class=UserRecord,
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
_API_KEY_LIST_SQL = _variants(
    lambda include_revoked, after: _newest_first(
        API_KEY_COLUMNS,
        "api_keys",
        ["k.user_id = $1", user_is_live("$1")]
        + ([] if include_revoked else ["k.revoked_at IS NULL"]),
        after=after,
        alias="k",
    )
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
    size = page_size(limit)
    list_name = f"api_keys:{user_id}:{include_revoked}"
    return await _page(
        ApiKey,
        _API_KEY_LIST_SQL[(include_revoked, cursor is not None)],
        [user_id, size + 1],
        size=size,
        cursor=cursor,
        list_name=list_name,
        record_class=ApiKeyRecord,
    )
