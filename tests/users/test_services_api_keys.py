"""API keys: issue once, verify in one indexed query, list, revoke, expire."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import uuid

import pytest

from apps.core.errors import ValidationError
from apps.users import selectors, services
from apps.users.errors import (
    ApiKeyNotFoundError,
    ApiKeyScopeError,
    InvalidApiKeyError,
    UserNotFoundError,
)
from apps.users.records import UserRecord
from apps.users.tables import ApiKey
from piccolo_conf import DB
from tests.core.statements import count_statements


@pytest.fixture
async def owner() -> UserRecord:
    return await services.user_create(email="owner@example.com", name="Owner")


async def test_api_key_issue_returns_the_key_once_and_stores_only_hash_and_prefix(
    owner: UserRecord,
) -> None:
    # given a user
    # when a key is issued
    issued = await services.api_key_issue(
        user_id=owner.id, name="ci", scopes=["media:read", "ads:write", "media:read"]
    )
    # then the key is recognisable, random and long; the row has its SHA-256 and prefix only
    assert issued.key.startswith("gw_")
    assert len(issued.key) == 3 + 43
    assert issued.key not in repr(issued)
    row = await ApiKey.select().where(ApiKey.id == issued.record.id).first()
    assert row is not None
    assert row["key_hash"] == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in {str(value) for value in row.values()}
    assert row["prefix"] == issued.key[:11] == issued.record.prefix
    # and scopes are deduplicated and sorted
    assert issued.record.scopes == ["ads:write", "media:read"]
    assert issued.record.last_used_at is None


async def test_api_key_issue_gives_a_different_key_every_time(owner: UserRecord) -> None:
    # given a user
    # when two keys are issued
    first = await services.api_key_issue(user_id=owner.id, name="a")
    second = await services.api_key_issue(user_id=owner.id, name="b")
    # then they differ
    assert first.key != second.key


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"name": " "}, "name", "not_blank"),
        ({"name": "k", "scopes": ["Media Read"]}, "scopes", "scope_format"),
        ({"name": "k", "scopes": "media:read"}, "scopes", "list"),
        (
            {"name": "k", "expires_at": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)},
            "expires_at",
            "future",
        ),
        (
            {"name": "k", "expires_at": datetime.datetime(2999, 1, 1)},
            "expires_at",
            "timezone_aware",
        ),
    ],
)
async def test_api_key_issue_refuses_bad_input(
    owner: UserRecord, kwargs: dict[str, object], field: str, rule: str
) -> None:
    # given a user
    # when issuing a key with one bad argument
    with pytest.raises(ValidationError) as caught:
        await services.api_key_issue(user_id=owner.id, **kwargs)  # type: ignore[arg-type]
    # then the error names the field and rule, and no key exists
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert await ApiKey.count() == 0


async def test_api_key_issue_refuses_unknown_and_deleted_users(owner: UserRecord) -> None:
    # given a deleted user
    await services.user_soft_delete(user_id=owner.id)
    # when issuing keys to it and to nobody
    # then both are refused
    for user_id in (owner.id, uuid.uuid4()):
        with pytest.raises(UserNotFoundError):
            await services.api_key_issue(user_id=user_id, name="k")
    assert await ApiKey.count() == 0


async def test_api_key_verify_accepts_the_key_and_records_its_use(owner: UserRecord) -> None:
    # given an issued key
    issued = await services.api_key_issue(user_id=owner.id, name="k", scopes=["media:read"])
    # when it is verified with a scope it has
    verified = await services.api_key_verify(key=issued.key, required_scopes=["media:read"])
    # then the key's record comes back with last_used_at set, in the row as well
    assert verified.key_id == issued.record.id
    assert verified.user_id == owner.id
    assert verified.last_used_at is not None
    stored = await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == verified.key_id).first()
    assert stored == {"last_used_at": verified.last_used_at}


async def test_api_key_verify_writes_last_used_at_at_most_once_per_resolution(
    owner: UserRecord,
) -> None:
    # given a key used a moment ago, and one last used two minutes ago
    recent = await services.api_key_issue(user_id=owner.id, name="recent")
    stale = await services.api_key_issue(user_id=owner.id, name="stale")
    await services.api_key_verify(key=recent.key)
    two_minutes_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=2)
    await ApiKey.update({ApiKey.last_used_at: two_minutes_ago}).where(ApiKey.id == stale.record.id)
    first_use = (await selectors.api_key_get(api_key_id=recent.record.id)).last_used_at
    # when both are verified again
    again = await services.api_key_verify(key=recent.key)
    refreshed = await services.api_key_verify(key=stale.key)
    # then the recent one keeps its time and the stale one is brought up to date
    assert again.last_used_at == first_use
    assert refreshed.last_used_at is not None and refreshed.last_used_at > two_minutes_ago


async def test_api_key_verify_refuses_unknown_tampered_revoked_and_expired_keys(
    owner: UserRecord,
) -> None:
    # given a revoked key, an expired key and a live key
    revoked = await services.api_key_issue(user_id=owner.id, name="revoked")
    await services.api_key_revoke(api_key_id=revoked.record.id)
    expired = await services.api_key_issue(
        user_id=owner.id,
        name="expired",
        expires_at=datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=1),
    )
    past = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(seconds=1)
    await ApiKey.update({ApiKey.expires_at: past}).where(ApiKey.id == expired.record.id)
    live = await services.api_key_issue(user_id=owner.id, name="live")
    # when verifying each bad key
    # then each is refused with the same error, which does not tell why
    for key in (revoked.key, expired.key, live.key[:-1] + "x", "gw_unknown", ""):
        with pytest.raises(InvalidApiKeyError) as caught:
            await services.api_key_verify(key=key)
        assert caught.value.message == "the API key is not valid"
    # and nothing was marked as used
    used = await ApiKey.select(ApiKey.id).where(ApiKey.last_used_at.is_not_null())
    assert used == []


async def test_api_key_verify_refuses_the_keys_of_a_deleted_user(owner: UserRecord) -> None:
    # given a key whose user was soft-deleted
    issued = await services.api_key_issue(user_id=owner.id, name="k")
    await services.user_soft_delete(user_id=owner.id)
    # when the key is verified
    # then it is refused, and accepted again once the user is restored
    with pytest.raises(InvalidApiKeyError):
        await services.api_key_verify(key=issued.key)
    await services.user_restore(user_id=owner.id)
    assert (await services.api_key_verify(key=issued.key)).key_id == issued.record.id


async def test_api_key_verify_refuses_a_key_without_a_required_scope(owner: UserRecord) -> None:
    # given a key with a read scope only
    issued = await services.api_key_issue(user_id=owner.id, name="k", scopes=["media:read"])
    # when an operation needs a write scope
    with pytest.raises(ApiKeyScopeError) as caught:
        await services.api_key_verify(key=issued.key, required_scopes=["media:write"])
    # then the error names the missing scope
    assert caught.value.field == "scopes"
    assert "media:write" in caught.value.message


async def test_api_key_verify_is_one_query_served_by_the_key_hash_index(
    owner: UserRecord,
) -> None:
    # given an issued key
    issued = await services.api_key_issue(user_id=owner.id, name="k")
    transaction = DB.current_transaction.get()
    assert transaction is not None
    connection = transaction.connection
    queries: list[str] = []
    # when it is verified
    with connection.query_logger(lambda record: queries.append(record.query)):
        await services.api_key_verify(key=issued.key)
        await asyncio.sleep(0)
    # then one statement ran, and its plan looks the key up with the unique index
    assert len(queries) == 1
    # (planned as on a real table: the owner's other keys, statistics of this transaction's
    # rows, not whatever an autovacuum last saw of other tests' rolled-back rows; seq scans
    # off, which on a table this small the planner would still rightly prefer)
    await connection.execute(
        "INSERT INTO api_keys (user_id, name, prefix, key_hash) "
        "SELECT $1, 'other', 'gw_' || g, md5(g::text) FROM generate_series(1, 300) g",
        owner.id,
    )
    await connection.execute("ANALYZE api_keys")
    await connection.execute("SET LOCAL enable_seqscan = off")
    plan = await connection.fetch(
        "EXPLAIN " + queries[0].strip(),
        services.hash_api_key(issued.key),
        services.LAST_USED_RESOLUTION,
    )
    assert "api_keys_key_hash_key" in "\n".join(row[0] for row in plan)


async def test_api_key_revoke_is_idempotent_and_checks_the_owner(owner: UserRecord) -> None:
    # given a key and another user
    issued = await services.api_key_issue(user_id=owner.id, name="k")
    other = await services.user_create(email="other@example.com", name="Other")
    # when another user tries to revoke it
    with pytest.raises(ApiKeyNotFoundError):
        await services.api_key_revoke(api_key_id=issued.record.id, user_id=other.id)
    # then it is still live; when its owner revokes it twice, the first time stays
    first = await services.api_key_revoke(api_key_id=issued.record.id, user_id=owner.id)
    second = await services.api_key_revoke(api_key_id=issued.record.id)
    assert first.revoked_at is not None
    assert second.revoked_at == first.revoked_at
    with pytest.raises(ApiKeyNotFoundError):
        await services.api_key_revoke(api_key_id=uuid.uuid4())


async def test_api_key_revoke_refuses_the_key_of_a_deleted_user(owner: UserRecord) -> None:
    # given a live key whose owner is then soft-deleted
    issued = await services.api_key_issue(user_id=owner.id, name="k")
    await services.user_soft_delete(user_id=owner.id)
    # when the key is revoked
    with pytest.raises(ApiKeyNotFoundError) as caught:
        await services.api_key_revoke(api_key_id=issued.record.id)
    # then it is not found (field api_key_id) and stays unrevoked
    assert (caught.value.field, caught.value.rule) == ("api_key_id", "exists")
    stored = await ApiKey.select(ApiKey.revoked_at).where(ApiKey.id == issued.record.id).first()
    assert stored == {"revoked_at": None}


async def test_api_key_revoke_of_a_revoked_key_still_checks_the_owner(owner: UserRecord) -> None:
    # given a key its owner has revoked, and another user
    issued = await services.api_key_issue(user_id=owner.id, name="k")
    revoked = await services.api_key_revoke(api_key_id=issued.record.id)
    other = await services.user_create(email="other2@example.com", name="Other")
    # when the other user revokes it again, and the owner does
    with pytest.raises(ApiKeyNotFoundError):
        await services.api_key_revoke(api_key_id=issued.record.id, user_id=other.id)
    again = await services.api_key_revoke(api_key_id=issued.record.id, user_id=owner.id)
    # then the other user is refused and the owner gets the key as it was
    assert again == revoked


async def test_api_key_revoke_is_one_statement_the_first_time(owner: UserRecord) -> None:
    # given two live keys (the first revoke warms asyncpg's type lookups up)
    first = await services.api_key_issue(user_id=owner.id, name="one")
    second = await services.api_key_issue(user_id=owner.id, name="two")
    await services.api_key_revoke(api_key_id=first.record.id)
    # when the second is revoked, then revoked again
    with count_statements() as revoking:
        await services.api_key_revoke(api_key_id=second.record.id, user_id=owner.id)
    with count_statements() as again:
        await services.api_key_revoke(api_key_id=second.record.id)
    # then revoking is one UPDATE ... RETURNING; a revoked key is read back as it is
    assert len(revoking) == 1, revoking
    assert len(again) == 2, again
