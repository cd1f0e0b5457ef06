"""Small helpers for tests that speak SQL to the test's own transaction."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.conftest import savepoint


def connection() -> asyncpg.Connection:
    """The connection of the test's transaction (see the autouse ``isolated`` fixture)."""
    from piccolo_conf import DB

    transaction = DB.current_transaction.get()
    assert transaction is not None
    return transaction.connection


async def fetchval(sql: str, *args: Any) -> Any:
    return await connection().fetchval(sql, *args)


async def fetchrow(sql: str, *args: Any) -> asyncpg.Record:
    row = await connection().fetchrow(sql, *args)
    assert row is not None
    return row


async def assert_refused(
    sql: str,
    *args: Any,
    error: type[asyncpg.PostgresError] = asyncpg.IntegrityConstraintViolationError,
    constraint: str | None = None,
) -> asyncpg.PostgresError:
    """The statement fails with ``error`` (and ``constraint``), leaving nothing behind."""
    with pytest.raises(error) as info:
        async with savepoint():
            await connection().execute(sql, *args)
    if constraint is not None:
        assert info.value.constraint_name == constraint, info.value
    return info.value


async def insert_user(email: str | None = None, **fields: Any) -> uuid.UUID:
    """A live user made by the users service (``fields``: name, role, settings, password)."""
    from apps.users.services import user_create

    fields.setdefault("name", "Test User")
    user = await user_create(email=email or f"{uuid.uuid4().hex[:8]}@example.com", **fields)
    return user.id


async def insert_asset(user_id: uuid.UUID, **columns: Any) -> uuid.UUID:
    path = f"videos/{uuid.uuid4().hex}.mp4"
    values = {
        "user_id": user_id,
        "filename": "ad.mp4",
        "original_name": "Ad.mp4",
        "mime_type": "video/mp4",
        "file_size": 1024,
        "gcs_url": f"gs://bucket/{path}",
        "gcs_bucket": "bucket",
        "gcs_path": path,
        **columns,
    }
    return await _insert("assets", values)


async def insert_clip(asset_id: uuid.UUID, **columns: Any) -> uuid.UUID:
    values = {"asset_id": asset_id, "start_time": 0.0, "end_time": 5.0, "duration": 5.0}
    return await _insert("clips", {**values, **columns})


async def insert_campaign(user_id: uuid.UUID, **columns: Any) -> uuid.UUID:
    return await _insert(
        "campaigns", {"user_id": user_id, "name": "Spring", "budget": 100, **columns}
    )


async def insert_document(**columns: Any) -> uuid.UUID:
    values = {"name": "Doc", "content": "Some content", "category": "guides", **columns}
    return await _insert("knowledge_documents", values)


async def _insert(table: str, values: dict[str, Any]) -> uuid.UUID:
    names = ", ".join(f'"{name}"' for name in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row_id: uuid.UUID = await fetchval(
        f"INSERT INTO {table} ({names}) VALUES ({params}) RETURNING id", *values.values()
    )
    return row_id
