"""Writes of the users app: users, passwords, API keys, soft delete.

Passwords are hashed with argon2id (argon2-cffi, its RFC 9106 default profile) in a worker
thread, so a slow hash never blocks the event loop. API keys are random 256-bit tokens shown
once; the database keeps their SHA-256 and a display prefix only.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from piccolo.querystring import QueryString

from apps.core import rawsql
from apps.core.errors import ConflictError, ValidationError
from apps.core.records import Row
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.unset import UNSET, Unset
from apps.core.validation import aware, json_object, not_blank, one_of, validated
from apps.users.errors import (
    ApiKeyScopeError,
    EmailTakenError,
    InvalidApiKeyError,
    InvalidCredentialsError,
    UserNotFoundError,
)
from apps.users.records import (
    API_KEY_COLUMNS,
    API_KEY_RETURNING,
    USER_COLUMNS,
    ApiKeyPrincipal,
    ApiKeyRecord,
    IssuedApiKey,
    UserRecord,
)
from apps.users.selectors import (
    api_key_get,
    api_key_not_found,
    normalize_email,
    user_get,
    user_is_live,
    user_not_found,
)
from apps.users.tables import ApiKey, Role, User

# --- users -------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit
NAME_MAX_LENGTH = 200
PASSWORD_MIN_LENGTH = 8
# argon2 hashes any length, but an unbounded input is a cheap way to burn server CPU.
PASSWORD_MAX_LENGTH = 1024

_hasher = PasswordHasher()


def _valid_email(email: str) -> str:
    normalized = normalize_email(email)
    if len(normalized) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(normalized):
        raise ValidationError(
            "email must look like name@domain.tld", field="email", rule="email_format"
        )
    return normalized


def _check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationError(
            f"password must have at least {PASSWORD_MIN_LENGTH} characters",
            field="password",
            rule="min_length",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationError(
            f"password must have at most {PASSWORD_MAX_LENGTH} characters",
            field="password",
            rule="max_length",
        )
    return password


async def _hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, _check_password(password))


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so both cases take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


# The Prisma-era gateway stored bcrypt; imported hashes are accepted and upgraded on login.
_LEGACY_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def _is_legacy_bcrypt(password_hash: str) -> bool:
    return password_hash.startswith(_LEGACY_BCRYPT_PREFIXES)


def _verify_password(password_hash: str, password: str) -> bool:
    if _is_legacy_bcrypt(password_hash):
        try:
            return bcrypt.checkpw(password.encode(), password_hash.encode())
        except ValueError:  # a malformed hash, or a password bcrypt cannot take (> 72 bytes)
            return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Hand-written because the new row comes back with ``has_password``, a computed column that
# the query builder's ``.returning(...)`` cannot express: one statement instead of two.
_INSERT_USER = rawsql.statement(
    "INSERT INTO users (id, email, name, role, password_hash, settings) "
    "VALUES (coalesce($6::uuid, gen_random_uuid()), $1, $2, $3, $4, $5::jsonb) "
    f"RETURNING {USER_COLUMNS}",
    owner=__name__,
)


def _email_conflict() -> EmailTakenError:
    return EmailTakenError("another user already has this email", field="email", rule="unique")


@validated
async def user_create(
    *,
    email: str,
    name: str,
    role: Role | str = Role.USER,
    password: str | None = None,
    settings: Mapping[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
) -> UserRecord:
    """Create a user. The email is stored stripped and in lower case. ``user_id`` fixes the
    id (sample data, imports); by default the database generates it.

    Raises ValidationError (email, name, role, password, settings) and EmailTakenError.
    """
    email = _valid_email(email)
    name = not_blank(name, field="name", max_length=NAME_MAX_LENGTH)
    role = one_of(Role, role, field="role")
    settings_json = json_object(settings, field="settings")
    password_hash = await _hash_password(password) if password is not None else None
    try:
        row = await rawsql.fetchrow(
            rawsql.engine_of(User),
            _INSERT_USER,
            email,
            name,
            role.value,
            password_hash,
            settings_json,
            user_id,
            record_class=UserRecord,
        )
    except ConflictError as error:
        raise _email_conflict() from error
    assert row is not None
    return row


@validated
async def user_update(
    *,
    user_id: uuid.UUID,
    email: str | Unset = UNSET,
    name: str | Unset = UNSET,
    role: Role | str | Unset = UNSET,
    settings: Mapping[str, Any] | Unset = UNSET,
) -> UserRecord:
    """Change the given fields of a live user (``settings`` replaces the whole object); a
    field left out keeps its value. None of these columns may be NULL.

    Raises UserNotFoundError, ValidationError and EmailTakenError.
    """
    changes: dict[Any, Any] = {}
    if not isinstance(email, Unset):
        changes[User.email] = _valid_email(email)
    if not isinstance(name, Unset):
        changes[User.name] = not_blank(name, field="name", max_length=NAME_MAX_LENGTH)
    if not isinstance(role, Unset):
        changes[User.role] = one_of(Role, role, field="role").value
    if not isinstance(settings, Unset):
        changes[User.settings] = json_object(settings, field="settings")
    if changes:
        try:
            changed = await _update_live_user(user_id, changes)
        except ConflictError as error:
            raise _email_conflict() from error
        if changed is None:
            raise user_not_found(user_id)
    # The row is read back: its has_password is computed, which .returning() cannot give.
    return await user_get(user_id=user_id)


async def _update_live_user(user_id: uuid.UUID, changes: dict[Any, Any]) -> Row | None:
    """Set ``changes`` on the live user ``user_id``; its id, or None when no live user has it."""
    return await rawsql.fetchrow_query(
        User.update(changes)
        .where(User.id == user_id, User.deleted_at.is_null())
        .returning(User.id),
        record_class=Row,
    )


@validated
async def user_set_password(*, user_id: uuid.UUID, password: str | None) -> None:
    """Set (or, with None, remove) a live user's password; only its argon2id hash is stored.

    Raises ValidationError (password) and UserNotFoundError.
    """
    password_hash = await _hash_password(password) if password is not None else None
    if await _update_live_user(user_id, {User.password_hash: password_hash}) is None:
        raise user_not_found(user_id)


_PASSWORD_HASH = rawsql.statement(
    "SELECT id, password_hash FROM users WHERE lower(email) = $1 AND deleted_at IS NULL",
    owner=__name__,
)


@validated
async def user_check_password(*, email: str, password: str) -> UserRecord:
    """The live user with this email and password; InvalidCredentialsError otherwise.

    An unknown email, a user without a password and a wrong password fail alike and take
    as long (a hash is verified in every case). A hash made with older parameters is
    upgraded on success.
    """
    engine = rawsql.engine_of(User)
    row = await rawsql.fetchrow(engine, _PASSWORD_HASH, normalize_email(email))
    stored = row["password_hash"] if row is not None else None
    candidate = stored if stored is not None else _dummy_hash()
    matches = await asyncio.to_thread(_verify_password, candidate, password)
    if row is None or stored is None or not matches:
        raise InvalidCredentialsError("email or password is wrong", field="password")
    if _is_legacy_bcrypt(stored) or _hasher.check_needs_rehash(stored):
        new_hash = await asyncio.to_thread(_hasher.hash, password)
        await _update_live_user(row["id"], {User.password_hash: new_hash})
    return await user_get(user_id=row["id"])


@validated
async def user_soft_delete(*, user_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a live user: it, its keys, assets, clips and predictions vanish from reads.

    Returns the deletion time. Raises UserNotFoundError.
    """
    return await soft_delete_row(
        User, row_id=user_id, not_found=UserNotFoundError, field="user_id", entity="user"
    )


@validated
async def user_restore(*, user_id: uuid.UUID) -> None:
    """Bring a soft-deleted user back, with everything it owned. Raises UserNotFoundError."""
    await restore_row(
        User, row_id=user_id, not_found=UserNotFoundError, field="user_id", entity="user"
    )


@validated
async def user_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete users soft-deleted more than ``older_than`` ago (cascading to all they
    own); return how many users went."""
    return await purge_rows(User, older_than=older_than)


# --- API keys ----------------------------------------------------------------------------

API_KEY_PREFIX = "gw_"
# 32 random bytes: 256 bits, as urlsafe base64 (43 characters).
_API_KEY_BYTES = 32
# "gw_" and the first 8 random characters: enough to tell a user's keys apart in a UI,
# far too little to help guess the other 35.
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8
_SCOPE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
API_KEY_NAME_MAX_LENGTH = 100
# last_used_at is written at most once per this period and key: a hot key would otherwise
# rewrite its row (and queue on its row lock) on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def hash_api_key(key: str) -> str:
    """The stored form of an API key: its SHA-256, hex.

    Passwords need a slow salted hash because people choose them from small spaces; these
    keys are 256 random bits, so no dictionary or brute force can find one from its hash,
    and a deterministic unsalted hash lets verification find the key with ONE equality
    lookup on the unique index of key_hash. (An HMAC with the settings' secret would add
    little and lock every key to that secret: rotating it would revoke all keys.)
    """
    return hashlib.sha256(key.encode()).hexdigest()


def _valid_scopes(scopes: Iterable[str]) -> list[str]:
    if isinstance(scopes, str):
        raise ValidationError("scopes must be a list of scope names", field="scopes", rule="list")
    cleaned = sorted(set(scopes))
    for scope in cleaned:
        if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
            raise ValidationError(
                f"scope {scope!r} must be lower case letters, digits and _.:- "
                "(starting with a letter, at most 64 characters)",
                field="scopes",
                rule="scope_format",
            )
    return cleaned


# One statement: the key is inserted only when its owner is live (nothing returned otherwise),
# an INSERT ... SELECT that the query builder cannot write.
_INSERT_API_KEY = rawsql.statement(
    "INSERT INTO api_keys AS k (id, user_id, name, prefix, key_hash, scopes, expires_at) "
    "SELECT coalesce($7::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6 "
    f"WHERE {user_is_live('$1::uuid')} "
    f"RETURNING {API_KEY_COLUMNS}",
    owner=__name__,
)


@validated
async def api_key_issue(
    *,
    user_id: uuid.UUID,
    name: str,
    scopes: Iterable[str] = (),
    expires_at: datetime.datetime | None = None,
    api_key_id: uuid.UUID | None = None,
) -> IssuedApiKey:
    """Issue an API key to a live user; the full key is in the result, and only there.
    ``api_key_id`` fixes the row's id (sample data); by default the database generates it.

    Raises ValidationError (name, scopes, expires_at) and UserNotFoundError.
    """
    name = not_blank(name, field="name", max_length=API_KEY_NAME_MAX_LENGTH)
    scope_list = _valid_scopes(scopes)
    expires_at = aware(expires_at, field="expires_at")
    if expires_at is not None and expires_at <= datetime.datetime.now(tz=datetime.UTC):
        raise ValidationError("expires_at must be in the future", field="expires_at", rule="future")
    key = API_KEY_PREFIX + secrets.token_urlsafe(_API_KEY_BYTES)
    row = await rawsql.fetchrow(
        rawsql.engine_of(ApiKey),
        _INSERT_API_KEY,
        user_id,
        name,
        key[:DISPLAY_PREFIX_LENGTH],
        hash_api_key(key),
        scope_list,
        expires_at,
        api_key_id,
        record_class=ApiKeyRecord,
    )
    if row is None:
        raise user_not_found(user_id)
    return IssuedApiKey(key=key, record=row)


# One statement: an equality lookup on the unique index of key_hash (found), and an UPDATE of
# that one row by primary key when last_used_at is older than the resolution (touched).
_VERIFY_API_KEY = rawsql.statement(
    f"""
WITH found AS (
    SELECT k.id, k.user_id, k.scopes, k.expires_at, k.last_used_at, k.key_hash
    FROM api_keys k
    WHERE k.key_hash = $1 AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now()) AND {user_is_live("k.user_id")}
), touched AS (
    UPDATE api_keys SET last_used_at = now() FROM found
    WHERE api_keys.id = found.id
      AND (found.last_used_at IS NULL OR found.last_used_at < now() - $2::interval)
    RETURNING api_keys.last_used_at
)
SELECT found.id, found.user_id, found.scopes, found.expires_at,
       COALESCE((SELECT last_used_at FROM touched), found.last_used_at) AS last_used_at,
       found.key_hash
FROM found
""",
    owner=__name__,
)


@validated
async def api_key_verify(*, key: str, required_scopes: Iterable[str] = ()) -> ApiKeyPrincipal:
    """The user and scopes of the live key matching ``key``, its last use recorded.

    InvalidApiKeyError when the key is unknown, revoked, expired or its user soft-deleted
    (the error does not say which); ApiKeyScopeError when the key lacks one of
    ``required_scopes``.
    """
    presented = hash_api_key(key)
    row = await rawsql.fetchrow(
        rawsql.engine_of(ApiKey), _VERIFY_API_KEY, presented, LAST_USED_RESOLUTION
    )
    # The index lookup already matched the hash; comparing the digests again, in constant
    # time, keeps the decision itself free of early exits.
    if row is None or not hmac.compare_digest(row[5], presented):
        raise InvalidApiKeyError("the API key is not valid", field="api_key", rule="valid")
    principal = ApiKeyPrincipal(
        key_id=row[0], user_id=row[1], scopes=row[2], expires_at=row[3], last_used_at=row[4]
    )
    missing = set(required_scopes) - set(principal.scopes)
    if missing:
        raise ApiKeyScopeError(
            f"the API key lacks the scopes {', '.join(sorted(missing))}",
            field="scopes",
            rule="required_scope",
        )
    return principal


@validated
async def api_key_revoke(
    *, api_key_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> ApiKeyRecord:
    """Revoke a key for good (revoking it again changes nothing); with ``user_id``, only if
    that user owns it. Raises ApiKeyNotFoundError (also for a key of a deleted user)."""
    conditions: list[Any] = [
        ApiKey.id == api_key_id,
        ApiKey.revoked_at.is_null(),
        QueryString(user_is_live('"api_keys"."user_id"')),
    ]
    if user_id is not None:
        conditions.append(ApiKey.user == user_id)
    row = await rawsql.fetchrow_query(
        ApiKey.update({ApiKey.revoked_at: QueryString("now()")})
        .where(*conditions)
        .returning(*API_KEY_RETURNING),
        record_class=ApiKeyRecord,
    )
    if row is not None:
        return row
    # Nothing changed: the key is revoked already (return it as it is), or not found.
    key = await api_key_get(api_key_id=api_key_id)
    if user_id is not None and key.user_id != user_id:
        raise api_key_not_found(api_key_id)
    return key


__all__ = [
    "API_KEY_PREFIX",
    "api_key_issue",
    "api_key_revoke",
    "api_key_verify",
    "hash_api_key",
    "user_check_password",
    "user_create",
    "user_purge",
    "user_restore",
    "user_set_password",
    "user_soft_delete",
    "user_update",
]
