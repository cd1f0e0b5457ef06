"""users and api_keys: every column type, the defaults, the constraints, the delete rules."""

import asyncio
import datetime
import json

import asyncpg

from apps.users.tables import ApiKey, Role, User
from tests.helpers import assert_refused, fetchrow, fetchval, insert_user


async def test_user_round_trips_every_column_and_gets_the_defaults() -> None:
    # given a user saved with only the required columns
    user = User(email="ada@example.com", name="Ada")
    await user.save()
    # when it is read back
    row = await User.select().where(User.id == user.id).first().output(load_json=True)
    # then the database filled in the defaults
    assert row is not None
    assert row["role"] == Role.USER
    assert row["settings"] == {}
    assert row["password_hash"] is None
    assert row["deleted_at"] is None
    assert isinstance(row["created_at"], datetime.datetime) and row["created_at"].tzinfo
    assert row["updated_at"] >= row["created_at"]


async def test_user_settings_json_round_trips() -> None:
    settings = {"theme": "dark", "notifications": {"email": True}, "flags": ["beta"]}
    user_id = await insert_user(settings=settings, role="ENTERPRISE")
    row = await fetchrow("SELECT settings, role FROM users WHERE id = $1", user_id)
    assert json.loads(row["settings"]) == settings
    assert row["role"] == "ENTERPRISE"


async def test_email_is_unique_case_insensitively() -> None:
    # the row as stored, not through the service (which lower-cases the email)
    await User(email="Ada@Example.com", name="Ada").save()
    await assert_refused(
        "INSERT INTO users (email, name) VALUES ('ada@example.COM', 'Other')",
        error=asyncpg.UniqueViolationError,
        constraint="users_email_lower_key",
    )


async def test_role_outside_the_enum_is_refused() -> None:
    await assert_refused(
        "INSERT INTO users (email, name, role) VALUES ('x@example.com', 'X', 'ROOT')",
        error=asyncpg.CheckViolationError,
        constraint="role_is_valid",
    )


async def test_user_needs_a_name_and_a_plausible_email() -> None:
    await assert_refused(
        "INSERT INTO users (email) VALUES ('x@example.com')", error=asyncpg.NotNullViolationError
    )
    await assert_refused(
        "INSERT INTO users (email, name) VALUES ('x@example.com', '  ')",
        error=asyncpg.CheckViolationError,
        constraint="name_not_blank",
    )
    await assert_refused(
        "INSERT INTO users (email, name) VALUES ('not-an-email', 'X')",
        error=asyncpg.CheckViolationError,
        constraint="email_is_valid",
    )


async def test_updated_at_changes_on_every_update() -> None:
    # given a user
    user_id = await insert_user()
    before = await fetchval("SELECT updated_at FROM users WHERE id = $1", user_id)
    # when it is updated twice, even inside one transaction
    await asyncio.sleep(0.002)
    await User.update({User.name: "Renamed"}).where(User.id == user_id)
    first = await fetchval("SELECT updated_at FROM users WHERE id = $1", user_id)
    await fetchval("UPDATE users SET name = 'Again' WHERE id = $1 RETURNING id", user_id)
    second = await fetchval("SELECT updated_at FROM users WHERE id = $1", user_id)
    # then updated_at moved each time, and created_at did not
    assert before < first < second
    assert await fetchval("SELECT created_at FROM users WHERE id = $1", user_id) < first


async def test_api_key_columns_and_defaults() -> None:
    user_id = await insert_user()
    key = ApiKey(user=user_id, name="ci", prefix="gw_abcd", key_hash="h" * 64)
    await key.save()
    row = await ApiKey.select().where(ApiKey.id == key.id).first()
    assert row is not None
    assert row["scopes"] == []
    assert row["last_used_at"] is None and row["expires_at"] is None
    assert row["revoked_at"] is None
    await fetchval(
        "UPDATE api_keys SET scopes = $2 WHERE id = $1 RETURNING id",
        key.id,
        ["media:read", "ads:write"],
    )
    assert await fetchval("SELECT scopes FROM api_keys WHERE id = $1", key.id) == [
        "media:read",
        "ads:write",
    ]


async def test_api_key_hash_is_unique() -> None:
    user_id = await insert_user()
    sql = "INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES ($1, 'k', 'gw_1', 'same')"
    await fetchval(sql + " RETURNING id", user_id)
    await assert_refused(sql, user_id, error=asyncpg.UniqueViolationError)


async def test_deleting_a_user_deletes_their_api_keys() -> None:
    user_id = await insert_user()
    await fetchval(
        "INSERT INTO api_keys (user_id, name, prefix, key_hash) "
        "VALUES ($1, 'k', 'gw_1', 'h1') RETURNING id",
        user_id,
    )
    await fetchval("DELETE FROM users WHERE id = $1 RETURNING id", user_id)
    assert await fetchval("SELECT count(*) FROM api_keys WHERE user_id = $1", user_id) == 0
