"""Every hand-written statement is prepared against the migrated schema.

Statements are recorded by :func:`apps.core.rawsql.statement` when their module is imported;
this test imports every module of ``apps`` and asks the server to prepare each one (after
its setup, e.g. the temporary table it reads), so a renamed or dropped column, a wrong type
or a typo fails here, not in production.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import apps
from apps.core import rawsql
from apps.users.tables import User
from tests.conftest import savepoint


def _import_every_module() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(apps.__path__, prefix="apps."):
        if ".piccolo_migrations" in module.name:
            continue
        importlib.import_module(module.name)
        names.append(module.name)
    return names


async def test_every_hand_written_statement_prepares_against_the_schema() -> None:
    # given every module of the project imported (which records its statements)
    assert _import_every_module()
    assert rawsql.STATEMENTS, "no statement was recorded"
    failures: list[str] = []
    # when the server prepares each recorded statement
    async with rawsql.connection(rawsql.engine_of(User)) as conn:
        for sql, owner in rawsql.STATEMENTS.items():
            try:
                async with savepoint():
                    if sql in rawsql.SETUP:
                        await conn.execute(rawsql.SETUP[sql])
                    await conn.prepare(sql)
            except Exception as error:  # every failure is reported, not just the first
                failures.append(f"{owner}: {type(error).__name__}: {error}\n    {sql.strip()}")
    # then none fails
    assert not failures, "\n".join(failures)


def test_columns_follow_the_table() -> None:
    # given the users table; when its column list is generated; then it follows _meta
    listed = rawsql.columns(User, "u").split(", ")
    assert listed[0] == "u.id"
    assert len(listed) == len(User._meta.columns)
    assert rawsql.columns(User, only=("email", "id")) == "id, email"
    assert "u.password_hash" not in rawsql.columns(User, "u", exclude=("password_hash",))


def test_columns_refuses_a_name_the_table_does_not_have() -> None:
    with pytest.raises(TypeError, match="emial"):
        rawsql.columns(User, only=("emial",))
