"""Users reads: get by id and email, keyset lists of users and API keys."""

from __future__ import annotations

import datetime
import uuid

import pytest

from apps.core.errors import ValidationError
from apps.core.pagination import encode_cursor
from apps.users import selectors, services
from apps.users.errors import ApiKeyNotFoundError, UserNotFoundError
from apps.users.records import UserRecord
from apps.users.tables import Role, User


async def _users(count: int) -> list[UserRecord]:
    """``count`` users with distinct created_at, oldest first."""
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    users = []
    for index in range(count):
        user = await services.user_create(email=f"u{index:03}@example.com", name=f"U{index}")
        created = base + datetime.timedelta(minutes=index)
        await User.update({User.created_at: created}).where(User.id == user.id)
        users.append(user)
    return users


async def test_user_get_and_get_by_email_find_the_live_user() -> None:
    # given a user
    user = await services.user_create(email="find@example.com", name="Find", role="ENTERPRISE")
    # when read by id and by email in another case
    by_id = await selectors.user_get(user_id=user.id)
    by_email = await selectors.user_get_by_email(email="  FIND@example.com")
    # then both return it
    assert by_id == by_email == user
    assert by_id.role is Role.ENTERPRISE


async def test_user_get_raises_a_typed_not_found() -> None:
    # given no user
    # when reading an unknown id and email
    with pytest.raises(UserNotFoundError) as by_id:
        await selectors.user_get(user_id=uuid.uuid4())
    with pytest.raises(UserNotFoundError) as by_email:
        await selectors.user_get_by_email(email="nobody@example.com")
    # then the errors name the field
    assert (by_id.value.field, by_email.value.field) == ("user_id", "email")


async def test_user_list_pages_newest_first_without_gaps_or_repeats() -> None:
    # given 7 users
    users = await _users(7)
    # when listed 3 at a time
    seen: list[uuid.UUID] = []
    cursor = None
    pages = 0
    while True:
        page = await selectors.user_list(limit=3, cursor=cursor)
        seen += [user.id for user in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    # then every user comes once, newest first, in 3 pages
    assert seen == [user.id for user in reversed(users)]
    assert pages == 3


async def test_user_list_breaks_created_at_ties_by_id() -> None:
    # given 5 users created at the same instant
    users = [
        await services.user_create(email=f"tie{index}@example.com", name="T") for index in range(5)
    ]
    same = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
    await User.update({User.created_at: same}, force=True)
    # when listed 2 at a time
    first = await selectors.user_list(limit=2)
    second = await selectors.user_list(limit=2, cursor=first.next_cursor)
    third = await selectors.user_list(limit=2, cursor=second.next_cursor)
    # then the order is by id, descending, and complete
    ids = [user.id for page in (first, second, third) for user in page.items]
    assert ids == sorted((user.id for user in users), reverse=True)
    assert third.next_cursor is None


async def test_user_list_filters_by_role_and_hides_deleted_users() -> None:
    # given an admin, a user and a deleted user
    admin = await services.user_create(email="admin@example.com", name="A", role=Role.ADMIN)
    plain = await services.user_create(email="plain@example.com", name="P")
    gone = await services.user_create(email="gone@example.com", name="G")
    await services.user_soft_delete(user_id=gone.id)
    # when listing
    everyone = await selectors.user_list()
    admins = await selectors.user_list(role="ADMIN")
    with_deleted = await selectors.user_list(include_deleted=True)
    # then the deleted user shows only when asked for
    assert {user.id for user in everyone.items} == {admin.id, plain.id}
    assert [user.id for user in admins.items] == [admin.id]
    assert {user.id for user in with_deleted.items} == {admin.id, plain.id, gone.id}


async def test_user_list_refuses_tampered_and_foreign_cursors_and_bad_limits() -> None:
    # given a page of users with a next cursor
    await _users(3)
    page = await selectors.user_list(limit=1)
    assert page.next_cursor is not None
    body, signature = page.next_cursor.split(".")
    # when the cursor is altered, comes from another list (or filter), or the limit is bad
    # then each is a ValidationError naming the field and the rule
    cases = [
        (body[:-2] + "AA." + signature, "tampered"),
        ("garbage", "malformed"),
        (
            encode_cursor(list_name="media.clip_list:x:None", values=[1.0, uuid.uuid4()]),
            "wrong_list",
        ),
    ]
    for cursor, rule in cases:
        with pytest.raises(ValidationError) as caught:
            await selectors.user_list(limit=1, cursor=cursor)
        assert (caught.value.field, caught.value.rule) == ("cursor", rule)
    with pytest.raises(ValidationError) as other_filter:
        await selectors.user_list(limit=1, role=Role.ADMIN, cursor=page.next_cursor)
    assert other_filter.value.rule == "wrong_list"
    with pytest.raises(ValidationError) as limit:
        await selectors.user_list(limit=0)
    assert (limit.value.field, limit.value.rule) == ("limit", "range")
    with pytest.raises(ValidationError) as role:
        await selectors.user_list(role="KING")
    assert role.value.field == "role"


async def test_api_key_list_shows_display_data_newest_first() -> None:
    # given a user with three keys, one revoked, and another user with a key
    owner = await services.user_create(email="keys@example.com", name="K")
    other = await services.user_create(email="other@example.com", name="O")
    issued = [await services.api_key_issue(user_id=owner.id, name=f"k{i}") for i in range(3)]
    await services.api_key_issue(user_id=other.id, name="theirs")
    await services.api_key_revoke(api_key_id=issued[0].record.id)
    # when listing the owner's keys, one at a time, and with the revoked one
    first = await selectors.api_key_list(user_id=owner.id, limit=1)
    second = await selectors.api_key_list(user_id=owner.id, limit=1, cursor=first.next_cursor)
    everything = await selectors.api_key_list(user_id=owner.id, include_revoked=True)
    # then the live keys come newest first, and the revoked one only when asked
    live_ids = {first.items[0].id, second.items[0].id}
    assert live_ids == {issued[1].record.id, issued[2].record.id}
    assert second.next_cursor is None
    assert {key.id for key in everything.items} == {key.record.id for key in issued}
    # and the records carry no secret
    assert not hasattr(first.items[0], "key_hash")


async def test_api_key_list_is_empty_for_deleted_and_unknown_users() -> None:
    # given a deleted user with a key
    owner = await services.user_create(email="del@example.com", name="D")
    await services.api_key_issue(user_id=owner.id, name="k")
    await services.user_soft_delete(user_id=owner.id)
    # when listing its keys and those of nobody
    # then both pages are empty
    assert (await selectors.api_key_list(user_id=owner.id)).items == []
    assert (await selectors.api_key_list(user_id=uuid.uuid4())).items == []


async def test_api_key_get_returns_display_data_or_a_typed_not_found() -> None:
    # given a key
    owner = await services.user_create(email="get@example.com", name="G")
    issued = await services.api_key_issue(user_id=owner.id, name="k", scopes=["a"])
    # when read by id, and an unknown id
    record = await selectors.api_key_get(api_key_id=issued.record.id)
    # then it is the issued record; unknown ids raise a typed error
    assert record == issued.record
    with pytest.raises(ApiKeyNotFoundError):
        await selectors.api_key_get(api_key_id=uuid.uuid4())
