"""Database errors become typed errors that name the field and the rule."""

import uuid

import pytest

from apps.core.db_errors import translate_errors
from apps.core.errors import ConflictError, NotFoundError, ValidationError
from tests.conftest import savepoint
from tests.helpers import connection, insert_user


async def _run(sql: str, *args: object) -> None:
    async with savepoint(), translate_errors():
        await connection().execute(sql, *args)


async def test_unique_violation_is_a_conflict_naming_the_field() -> None:
    await insert_user("ada@example.com")
    with pytest.raises(ConflictError) as info:
        await _run("INSERT INTO users (email, name) VALUES ('ADA@example.com', 'x')")
    assert (info.value.field, info.value.rule, info.value.code) == ("email", "unique", "conflict")
    assert "ada@" not in str(info.value).lower()  # values are not echoed


async def test_check_violation_names_the_field_and_the_constraint() -> None:
    user_id = await insert_user()
    with pytest.raises(ValidationError) as info:
        await _run("INSERT INTO campaigns (user_id, name, budget) VALUES ($1, 'c', -5)", user_id)
    assert (info.value.field, info.value.rule) == ("budget", "budget_not_negative")


async def test_not_null_violation_names_the_column() -> None:
    with pytest.raises(ValidationError) as info:
        await _run("INSERT INTO users (email) VALUES ('x@example.com')")
    assert (info.value.field, info.value.rule) == ("name", "required")


async def test_foreign_key_violation_is_not_found() -> None:
    with pytest.raises(NotFoundError) as info:
        await _run(
            "INSERT INTO campaigns (user_id, name, budget) VALUES ($1, 'c', 1)", uuid.uuid4()
        )
    assert (info.value.field, info.value.rule) == ("user_id", "exists")


async def test_bad_data_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        await _run("SELECT 'not-a-uuid'::uuid")
