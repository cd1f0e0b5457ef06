"""Users: create, update, passwords, soft delete / restore / purge, against the real DB."""

from __future__ import annotations

import datetime
import uuid

import pytest

from apps.core.errors import ValidationError
from apps.users import selectors, services
from apps.users.errors import EmailTakenError, InvalidCredentialsError, UserNotFoundError
from apps.users.tables import Role, User
from tests.conftest import savepoint
from tests.core.statements import count_statements


async def test_user_create_normalises_the_email_and_returns_the_record() -> None:
    # given an email with blanks and capitals
    # when the user is created
    user = await services.user_create(email="  Ada@Example.COM ", name=" Ada Lovelace ")
    # then it is stored stripped and in lower case, with the defaults of the data model
    assert user.email == "ada@example.com"
    assert user.name == "Ada Lovelace"
    assert user.role is Role.USER
    assert user.settings == {}
    assert user.has_password is False
    assert user.deleted_at is None
    stored = await User.select(User.email).where(User.id == user.id).first()
    assert stored == {"email": "ada@example.com"}


async def test_user_create_refuses_an_email_that_differs_only_in_case() -> None:
    # given a user
    await services.user_create(email="grace@example.com", name="Grace")
    # when another user is created with the same email in other case
    with pytest.raises(EmailTakenError) as caught:
        async with savepoint():
            await services.user_create(email="GRACE@example.com", name="Other Grace")
    # then the conflict names the email field, and only the first user exists
    assert caught.value.field == "email"
    assert caught.value.rule == "unique"
    assert await User.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"email": "not-an-email", "name": "X"}, "email", "email_format"),
        ({"email": "a b@example.com", "name": "X"}, "email", "email_format"),
        ({"email": "x@example.com", "name": "   "}, "name", "not_blank"),
        ({"email": "x@example.com", "name": "X", "role": "KING"}, "role", "one_of"),
        ({"email": "x@example.com", "name": "X", "password": "short"}, "password", "min_length"),
        ({"email": "x@example.com", "name": "X", "settings": {"f": {1, 2}}}, "settings", "json"),
    ],
)
async def test_user_create_refuses_bad_input_naming_field_and_rule(
    kwargs: dict[str, object], field: str, rule: str
) -> None:
    # given bad input for one field
    # when creating the user
    with pytest.raises(ValidationError) as caught:
        await services.user_create(**kwargs)  # type: ignore[arg-type]
    # then the error names that field and rule, and nothing was written
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert await User.count() == 0


async def test_user_create_stores_a_slow_salted_hash_never_the_password() -> None:
    # given a user created with a password
    user = await services.user_create(
        email="pw@example.com", name="Pw", password="correct horse battery"
    )
    # when the stored hash is read
    stored = await User.select(User.password_hash).where(User.id == user.id).first()
    # then it is an argon2id hash, not the password
    assert user.has_password is True
    assert stored is not None
    assert stored["password_hash"].startswith("$argon2id$")
    assert "correct horse battery" not in stored["password_hash"]


async def test_user_check_password_accepts_the_right_password_only() -> None:
    # given a user with a password
    user = await services.user_create(email="login@example.com", name="L", password="s3cret-pass")
    # when checking the right password (email in another case) and a wrong one
    found = await services.user_check_password(email="LOGIN@example.com", password="s3cret-pass")
    with pytest.raises(InvalidCredentialsError):
        await services.user_check_password(email="login@example.com", password="wrong-pass")
    # then the right one returns the user and the wrong one is refused
    assert found.id == user.id


async def test_user_check_password_fails_alike_for_unknown_users_and_users_without_password() -> (
    None
):
    # given a user without a password
    await services.user_create(email="nopw@example.com", name="N")
    # when logging in as that user, and as nobody
    # then both fail with the same error
    for email in ("nopw@example.com", "nobody@example.com"):
        with pytest.raises(InvalidCredentialsError) as caught:
            await services.user_check_password(email=email, password="whatever-pass")
        assert caught.value.code == "invalid_credentials"


async def test_user_set_password_replaces_and_removes_the_password() -> None:
    # given a user with a password
    user = await services.user_create(email="reset@example.com", name="R", password="old-password")
    # when the password is changed
    await services.user_set_password(user_id=user.id, password="new-password")
    # then only the new one works
    assert (
        await services.user_check_password(email="reset@example.com", password="new-password")
    ).id == user.id
    with pytest.raises(InvalidCredentialsError):
        await services.user_check_password(email="reset@example.com", password="old-password")
    # and when it is removed, password login is off
    await services.user_set_password(user_id=user.id, password=None)
    assert (await selectors.user_get(user_id=user.id)).has_password is False


async def test_user_set_password_refuses_unknown_users_and_short_passwords() -> None:
    # given a user
    user = await services.user_create(email="sp@example.com", name="S")
    # when setting a password for nobody, or a too short one
    # then typed errors name the field
    with pytest.raises(UserNotFoundError):
        await services.user_set_password(user_id=uuid.uuid4(), password="long-enough")
    with pytest.raises(ValidationError) as caught:
        await services.user_set_password(user_id=user.id, password="x")
    assert caught.value.field == "password"


async def test_user_update_changes_only_the_given_fields() -> None:
    # given a user
    user = await services.user_create(
        email="up@example.com", name="Before", settings={"theme": "dark"}
    )
    # when its name, role and settings change
    updated = await services.user_update(
        user_id=user.id, name="After", role=Role.ADMIN, settings={"theme": "light"}
    )
    # then those fields change, the email stays, and updated_at moves
    assert (updated.name, updated.role, updated.settings) == (
        "After",
        Role.ADMIN,
        {"theme": "light"},
    )
    assert updated.email == "up@example.com"
    assert updated.updated_at > user.updated_at


async def test_user_update_normalises_the_email_and_refuses_a_taken_one() -> None:
    # given two users
    first = await services.user_create(email="one@example.com", name="One")
    await services.user_create(email="two@example.com", name="Two")
    # when the first takes a new email, then the second's
    renamed = await services.user_update(user_id=first.id, email=" ONE.NEW@example.com")
    with pytest.raises(EmailTakenError):
        async with savepoint():
            await services.user_update(user_id=first.id, email="Two@Example.com")
    # then the new email is normalised and the conflicting change left nothing behind
    assert renamed.email == "one.new@example.com"
    assert (await selectors.user_get(user_id=first.id)).email == "one.new@example.com"


async def test_user_update_refuses_bad_values_and_unknown_users() -> None:
    # given a user
    user = await services.user_create(email="bad@example.com", name="B")
    # when updating with a blank name, a bad role, or for nobody
    # then each fails with a typed error and the row is unchanged
    with pytest.raises(ValidationError) as blank:
        await services.user_update(user_id=user.id, name="  ")
    with pytest.raises(ValidationError) as role:
        await services.user_update(user_id=user.id, role="ROOT")
    with pytest.raises(UserNotFoundError):
        await services.user_update(user_id=uuid.uuid4(), name="X")
    assert (blank.value.field, role.value.field) == ("name", "role")
    assert (await selectors.user_get(user_id=user.id)).name == "B"


async def test_user_update_takes_none_as_a_value_not_as_left_out() -> None:
    # given a user (none of the columns user_update changes may be NULL)
    user = await services.user_create(email="none@example.com", name="None")
    # when a field is passed as None, and when a deleted user is updated
    with pytest.raises(ValidationError) as none:
        await services.user_update(user_id=user.id, name=None)  # type: ignore[arg-type]
    await services.user_soft_delete(user_id=user.id)
    with pytest.raises(UserNotFoundError) as deleted:
        await services.user_update(user_id=user.id, role=Role.ADMIN)
    # then None is refused as a value of the wrong type, and the deleted user is not found
    assert (none.value.field, none.value.rule) == ("name", "type")
    assert (deleted.value.field, deleted.value.rule, deleted.value.code) == (
        "user_id",
        "exists",
        "user_not_found",
    )
    stored = await User.select(User.name, User.role).where(User.id == user.id).first()
    assert stored == {"name": "None", "role": "USER"}


async def test_user_update_with_nothing_to_change_returns_the_user_untouched() -> None:
    # given a user
    user = await services.user_create(email="same@example.com", name="Same")
    # when updating nothing
    again = await services.user_update(user_id=user.id)
    # then the record is the same, updated_at included
    assert again == user


async def test_user_soft_delete_hides_the_user_and_restore_brings_it_back() -> None:
    # given a user
    user = await services.user_create(email="gone@example.com", name="Gone")
    # when it is soft-deleted
    await services.user_soft_delete(user_id=user.id)
    # then default reads do not find it, but an explicit read of deleted rows does
    with pytest.raises(UserNotFoundError):
        await selectors.user_get(user_id=user.id)
    with pytest.raises(UserNotFoundError):
        await selectors.user_get_by_email(email="gone@example.com")
    assert (await selectors.user_get(user_id=user.id, include_deleted=True)).deleted_at
    # and deleting it again is refused
    with pytest.raises(UserNotFoundError):
        await services.user_soft_delete(user_id=user.id)
    # when it is restored, it is back
    await services.user_restore(user_id=user.id)
    assert (await selectors.user_get(user_id=user.id)).deleted_at is None
    # and restoring a live user is refused
    with pytest.raises(UserNotFoundError):
        await services.user_restore(user_id=user.id)


async def test_user_purge_removes_only_users_deleted_long_enough_ago() -> None:
    # given a user deleted 40 days ago, one deleted now, and a live one
    old = await services.user_create(email="old@example.com", name="Old")
    recent = await services.user_create(email="recent@example.com", name="Recent")
    live = await services.user_create(email="live@example.com", name="Live")
    await services.user_soft_delete(user_id=recent.id)
    long_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=40)
    await User.update({User.deleted_at: long_ago}).where(User.id == old.id)
    # when purging users deleted more than 30 days ago
    purged = await services.user_purge(older_than=datetime.timedelta(days=30))
    # then only the old one is gone for good
    assert purged == 1
    remaining = {row["id"] for row in await User.select(User.id)}
    assert remaining == {recent.id, live.id}
    with pytest.raises(ValidationError):
        await services.user_purge(older_than=datetime.timedelta(days=-1))


async def test_user_update_sends_the_update_and_one_read_back() -> None:
    # given a user (a first update warms asyncpg's type lookups up)
    user = await services.user_create(email="count@example.com", name="Count")
    await services.user_update(user_id=user.id, name="Warm")
    # when a field changes, and when nothing does
    with count_statements() as changed:
        await services.user_update(user_id=user.id, name="Counted", role=Role.ADMIN)
    with count_statements() as unchanged:
        await services.user_update(user_id=user.id)
    # then the change is one UPDATE ... RETURNING and the read of the row (its has_password
    # is computed), and nothing given is the read alone
    assert len(changed) == 2, changed
    assert changed.sent[0].startswith('UPDATE "users" SET')
    assert len(unchanged) == 1, unchanged
