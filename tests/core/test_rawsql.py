"""Hand-written SQL on the engine: joins the transaction, typed rows, typed errors."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import pytest

from apps.core import rawsql
from apps.core.errors import ConflictError, GatewayError, ValidationError
from apps.core.keyset import cursor_after
from apps.core.pagination import encode_cursor
from apps.core.records import Column, EnumColumn, JsonColumn, Row
from apps.users.tables import Role, User
from piccolo_conf import DB
from tests.conftest import savepoint


class _Person(Row):
    __slots__ = ()
    id = Column[uuid.UUID]()
    role = EnumColumn(Role)
    settings = JsonColumn()


async def test_statements_join_the_current_transaction() -> None:
    # given a row inserted by Piccolo inside the test's transaction
    await User.insert(User(email="tx@example.com", name="Tx"))
    # when raw SQL reads it through the engine
    count = await rawsql.fetchval(rawsql.engine_of(User), "SELECT count(*) FROM users")
    # then it sees the uncommitted row: same connection, same transaction
    assert count == 1


async def test_rows_have_typed_attributes_and_decode_json_on_access() -> None:
    # given a user with settings
    await User.insert(User(email="row@example.com", name="Row", settings={"theme": "dark"}))
    # when read as a typed row
    row = await rawsql.fetchrow(
        rawsql.engine_of(User), "SELECT id, role, settings FROM users", record_class=_Person
    )
    # then attributes are typed, JSON is decoded, and as_dict gives everything decoded
    assert row is not None
    assert isinstance(row.id, uuid.UUID)
    assert row.role is Role.USER
    assert row.settings == {"theme": "dark"}
    assert row.as_dict() == {"id": row.id, "role": Role.USER, "settings": {"theme": "dark"}}


async def test_database_errors_come_out_typed() -> None:
    # given a user
    await User.insert(User(email="dup@example.com", name="Dup"))
    engine = rawsql.engine_of(User)
    # when raw SQL breaks the unique email rule, and when it is not valid SQL
    with pytest.raises(ConflictError) as conflict:
        async with savepoint():
            await rawsql.fetch(
                engine, "INSERT INTO users (email, name) VALUES ($1, 'x')", "DUP@example.com"
            )
    with pytest.raises(GatewayError) as broken:
        async with savepoint():
            await rawsql.fetch(engine, "SELEC 1")
    # then both are the project's errors, the conflict naming the field
    assert conflict.value.field == "email"
    assert not isinstance(broken.value, ConflictError)


async def test_a_pooled_connection_is_released_after_an_error() -> None:
    # given a statement run outside the test transaction, on the pool, that fails
    async def outside() -> None:
        DB.current_transaction.set(None)
        for _ in range(DB.pool_max_size + 2):
            with pytest.raises(ValidationError, match="division by zero"):
                await rawsql.fetch(rawsql.engine_of(User), "SELECT 1/0")

    # when it fails more often than the pool has connections
    await asyncio.create_task(outside())
    # then every connection went back (no pool timeout): only the test's one is in use
    assert DB.pool is not None
    assert DB.pool.get_size() - DB.pool.get_idle_size() == 1


async def test_cursor_after_refuses_values_of_the_wrong_shape() -> None:
    # given a validly signed cursor of the right list but with values of other types
    cursor = encode_cursor(list_name="x", values=["not a date", 3])
    # when decoded for a list sorted by (datetime, uuid)
    with pytest.raises(ValidationError) as caught:
        cursor_after(cursor, list_name="x", types=(datetime.datetime, uuid.UUID))
    # then it is refused as not fitting the list
    assert (caught.value.field, caught.value.rule) == ("cursor", "wrong_list")


async def test_an_argument_asyncpg_cannot_encode_is_a_validation_error() -> None:
    # given a query expecting a uuid
    engine = rawsql.engine_of(User)
    # when it gets text that is no uuid, through each entry point
    # then each raises a ValidationError, not a connection error
    with pytest.raises(ValidationError):
        await rawsql.fetchrow(engine, "SELECT id FROM users WHERE id = $1", "not-a-uuid")
    with pytest.raises(ValidationError):
        await rawsql.fetchval(engine, "SELECT id FROM users WHERE id = $1", "not-a-uuid")
    with pytest.raises(ValidationError):
        async with rawsql.connection(engine) as conn:
            await conn.fetch("SELECT id FROM users WHERE id = $1", "not-a-uuid")


async def test_a_piccolo_query_runs_on_the_one_path_and_returns_typed_rows() -> None:
    # given a user written by Piccolo's query builder inside the test's transaction
    await User.insert(User(email="builder@example.com", name="Before", role="ADMIN"))
    query = (
        User.update({User.name: "After"})
        .where(User.email == "builder@example.com")
        .returning(User.id, User.role, User.settings)
    )
    # when the query runs through rawsql with a row class
    row = await rawsql.fetchrow_query(query, record_class=_Person)
    # then the row is typed (enum member, decoded JSON) and the update is visible
    assert row is not None and row.role is Role.ADMIN and row.settings == {}
    assert await User.select(User.name).first().run() == {"name": "After"}
    rows = await rawsql.fetch_query(
        User.select(User.id, User.role, User.settings), record_class=_Person
    )
    assert [r.id for r in rows] == [row.id]
    await rawsql.execute_query(User.delete().where(User.id == row.id))
    assert await User.count() == 0
