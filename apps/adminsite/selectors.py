"""Reads the admin needs beside Piccolo Admin's own: row snapshots and cheap counts."""

from __future__ import annotations

import json
from typing import Any

from piccolo.columns.base import Column
from piccolo.query import Select
from piccolo.querystring import QueryString
from piccolo.table import Table

from apps.core.db_errors import translate_errors


async def row_snapshot(
    *, table: type[Table], row_id: object, columns: list[Column]
) -> dict[str, Any] | None:
    """The current values of ``columns`` of one row (``None`` when it does not exist)."""
    async with translate_errors():
        row: dict[str, Any] | None = (
            await table.select(*columns)
            .where(table._meta.primary_key == row_id)
            .first()
            .output(load_json=True)
        )
    return row


async def table_row_estimate(*, table: type[Table]) -> int:
    """The planner's row count of ``table`` (``pg_class.reltuples``); -1 if never analysed."""
    async with translate_errors():
        rows = await table._meta.db.run_querystring(
            QueryString(
                "SELECT reltuples::bigint AS estimate FROM pg_class WHERE oid = {}::regclass",
                table._meta.tablename,
            )
        )
    return int(rows[0]["estimate"]) if rows else -1


async def query_row_estimate(*, query: Select[Any]) -> int:
    """How many rows the planner expects ``query`` to return (EXPLAIN, not run)."""
    (querystring,) = query.querystrings
    async with translate_errors():
        rows = await query.table._meta.db.run_querystring(
            QueryString("EXPLAIN (FORMAT JSON) {}", querystring)
        )
    plan = rows[0]["QUERY PLAN"]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def query_rows(*, query: Any) -> list[dict[str, Any]]:
    """Run a select (or count) the admin built from the request's filters."""
    async with translate_errors():
        rows: list[dict[str, Any]] = await query
    return rows


async def admin_login_exists() -> bool:
    """Whether any active login may enter the admin."""
    from piccolo.apps.user.tables import BaseUser

    async with translate_errors():
        exists: bool = await BaseUser.exists().where(
            (BaseUser.admin == True) & (BaseUser.active == True)  # noqa: E712
        )
    return exists


async def admin_login_active(username: str) -> bool | None:
    """Whether the login ``username`` is active (``None``: no such login)."""
    from piccolo.apps.user.tables import BaseUser

    async with translate_errors():
        row = await BaseUser.select(BaseUser.active).where(BaseUser.username == username).first()
    return None if row is None else bool(row["active"])


async def dead_parent_ids(*, table: type[Table], sql: str) -> list[Any]:
    """The ids ``sql`` selects: parents of ``table``'s rows that are soft-deleted (or under
    a soft-deleted parent), whose rows the lists hide."""
    async with translate_errors():
        rows = await table._meta.db.run_querystring(QueryString(sql))
    return [row["id"] for row in rows]


#: The rows a form's picker offers, labelled (live rows only, newest first).
PICKER_SQL: dict[str, str] = {
    "campaigns": (
        "SELECT c.id, c.name || ' · ' || c.status || ' · ' || u.email AS label "
        "FROM campaigns c JOIN users u ON u.id = c.user_id "
        "WHERE c.deleted_at IS NULL AND u.deleted_at IS NULL "
        "ORDER BY c.created_at DESC, c.name, c.id LIMIT {}"
    ),
    "experiments": (
        "SELECT e.id, e.name || ' · ' || e.status || ' · campaign ' || c.name AS label "
        "FROM experiments e JOIN campaigns c ON c.id = e.campaign_id "
        "JOIN users u ON u.id = c.user_id "
        "WHERE e.deleted_at IS NULL AND c.deleted_at IS NULL AND u.deleted_at IS NULL "
        "ORDER BY e.created_at DESC, e.name, e.id LIMIT {}"
    ),
}


async def picker_rows(*, table: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` live rows of ``table`` (a key of :data:`PICKER_SQL`) as (id, label)."""
    from apps.ads.tables import Campaign  # its engine (the one database)

    async with translate_errors():
        rows = await Campaign._meta.db.run_querystring(QueryString(PICKER_SQL[table], limit))
    return [(str(row["id"]), str(row["label"])) for row in rows]
