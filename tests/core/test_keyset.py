"""Keyset lists: the statements they build and the pages they walk, on a real table."""

from __future__ import annotations

import datetime
import uuid

import pytest

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.keyset import KeysetList, optional
from apps.users.records import USER_COLUMNS, UserRecord
from apps.users.services import user_create, user_soft_delete
from apps.users.tables import Role, User

# Mixed directions: role ascending, then newest first. Not a list the app has; it exercises
# the lexicographic cursor condition a row comparison cannot express.
_MIXED: KeysetList[UserRecord] = KeysetList(
    User,
    select=f"SELECT {USER_COLUMNS} FROM users",
    where=("email LIKE $1",),
    filters={"role": optional("role = $?"), "state": {"live": "deleted_at IS NULL", "all": None}},
    order=(("role", "ASC"), ("created_at", "DESC"), ("id", "DESC")),
    types=(str, datetime.datetime, uuid.UUID),
    record_class=UserRecord,
    owner=__name__,
)


def test_statements_number_parameters_in_order_and_end_with_the_limit() -> None:
    # given the mixed list, when its statement with a role filter after a cursor is read
    sql = _MIXED.statements[(True, "live", True)]
    # then the explicit $1 comes first, the filter's $? is $2, the cursor $3-$5, the limit $6
    assert "email LIKE $1 AND role = $2 AND deleted_at IS NULL" in sql
    assert "(role > $3 OR (role = $3 AND (created_at, id) < ($4, $5)))" in sql
    assert sql.endswith("ORDER BY role ASC, created_at DESC, id DESC LIMIT $6")
    # and every combination of the filters, with and without a cursor, is registered
    assert len(_MIXED.statements) == 2 * 2 * 2
    assert all(rawsql.STATEMENTS[text] == __name__ for text in _MIXED.statements.values())


def test_a_list_needs_one_type_per_sort_column() -> None:
    with pytest.raises(TypeError, match="one type per sort column"):
        KeysetList(
            User,
            select="SELECT id FROM users",
            order=(("created_at", "DESC"), ("id", "DESC")),
            types=(uuid.UUID,),
            record_class=UserRecord,
            owner=__name__,
        )


async def test_pages_walk_every_row_once_in_order() -> None:
    # given users of two roles created at few distinct instants (ties on created_at)
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for number in range(23):
        user = await user_create(
            email=f"keyset{number}@example.com",
            name=f"K{number}",
            role=Role.ADMIN if number % 3 == 0 else Role.USER,
        )
        # ties on created_at, which a service cannot set
        await User.update({User.created_at: base + datetime.timedelta(seconds=number % 4)}).where(
            User.id == user.id
        )
        if number == 5:
            await user_soft_delete(user_id=user.id)
    # when every page of 4 is read, with and without the filters
    for role, state in [(None, "all"), (None, "live"), ("USER", "live")]:
        seen: list[UserRecord] = []
        cursor: str | None = None
        while True:
            page = await _MIXED.page(
                "keyset%",
                limit=4,
                cursor=cursor,
                list_name=f"mixed:{role}:{state}",
                role=role,
                state=state,
            )
            seen += page.items
            assert len(page.items) <= 4
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        # then each row comes once, in the list's order, and the filters hold
        expected = sorted(
            (
                row
                for row in await rawsql.fetch(
                    rawsql.engine_of(User),
                    f"SELECT {USER_COLUMNS} FROM users WHERE email LIKE 'keyset%'",
                    record_class=UserRecord,
                )
                if (role is None or row.role == role) and (state == "all" or row.deleted_at is None)
            ),
            key=lambda row: (row.role, -row.created_at.timestamp(), row.id.int * -1),
        )
        assert [row.id for row in seen] == [row.id for row in expected]


async def test_a_cursor_of_another_list_is_refused() -> None:
    # given two users and a cursor of the unfiltered list
    for number in range(2):
        await user_create(email=f"other{number}@example.com", name="O")
    page = await _MIXED.page(
        "other%", limit=1, cursor=None, list_name="mixed:None:all", role=None, state="all"
    )
    assert page.next_cursor is not None
    # when it is given to the list with a role filter, then it is refused
    with pytest.raises(ValidationError) as caught:
        await _MIXED.page(
            "other%",
            limit=1,
            cursor=page.next_cursor,
            list_name="mixed:user:all",
            role="USER",
            state="all",
        )
    assert (caught.value.field, caught.value.rule) == ("cursor", "wrong_list")
