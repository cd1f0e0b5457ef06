"""The users app's row types follow tables.py, keep the secrets out, and its errors are typed."""

from __future__ import annotations

import inspect

from apps.core.errors import GatewayError
from apps.users import errors, selectors, services
from apps.users.records import API_KEY_COLUMNS, USER_COLUMNS, ApiKeyRecord, UserRecord
from apps.users.tables import ApiKey, User


def _names(select_list: str) -> list[str]:
    return [item.split(" AS ")[-1].split(".")[-1] for item in select_list.split(", ")]


def test_the_select_lists_follow_the_tables_without_the_secrets() -> None:
    # given the tables' columns; when the select lists are read
    user_columns = [column._meta.db_column_name for column in User._meta.columns]
    key_columns = [column._meta.db_column_name for column in ApiKey._meta.columns]
    # then each list is every column but the secret, plus the computed has_password
    assert _names(USER_COLUMNS) == [name for name in user_columns if name != "password_hash"] + [
        "has_password"
    ]
    assert _names(API_KEY_COLUMNS) == [name for name in key_columns if name != "key_hash"]
    assert "password_hash IS NOT NULL AS has_password" in USER_COLUMNS
    # and every attribute of the records is a column of its list
    assert {name for name in vars(UserRecord) if not name.startswith("_")} == set(
        _names(USER_COLUMNS)
    )
    assert {name for name in vars(ApiKeyRecord) if not name.startswith("_")} == set(
        _names(API_KEY_COLUMNS)
    )


async def test_records_read_back_hold_no_secret() -> None:
    # given a user with a password and a key
    user = await services.user_create(email="rec@example.com", name="Rec", password="s3cret-pw")
    issued = await services.api_key_issue(user_id=user.id, name="k")
    # when they are read
    read_user = await selectors.user_get(user_id=user.id)
    read_key = await selectors.api_key_get(api_key_id=issued.record.id)
    # then neither record carries a hash
    assert "password_hash" not in read_user.as_dict() and read_user.has_password is True
    assert "key_hash" not in read_key.as_dict()
    assert issued.key not in repr(issued)


def test_every_error_of_the_users_app_has_its_own_code_and_a_one_line_docstring() -> None:
    # given the error classes of apps/users/errors.py
    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, GatewayError)
        and value.__module__ == errors.__name__
    ]
    assert classes
    # then each defines its own stable code, distinct from the others, and says what it is
    codes = [cls.__dict__.get("code") for cls in classes]
    assert None not in codes and len(set(codes)) == len(codes)
    for cls in classes:
        assert cls.__doc__ and len(cls.__doc__.strip().splitlines()) == 1, cls
