"""Each test runs in its own rolled-back transaction and sees only its own rows."""

import pytest

from apps.users.tables import User


@pytest.mark.parametrize("attempt", [1, 2])
async def test_each_test_sees_only_its_own_rows(attempt: int) -> None:
    # given an empty users table, whatever ran before
    assert await User.count() == 0
    # when this test inserts a user with a fixed email
    await User.insert(User(email="isolation@example.com", name=f"attempt {attempt}"))
    # then it sees exactly that one row (the other attempt's row was rolled back)
    assert await User.count() == 1
