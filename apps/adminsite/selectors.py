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


_LIVE_ACTUALS = " AND ".join(
    f"p.actual_{name} IS NULL" for name in ("roas", "ctr", "cpc", "cpa", "engagement")
)
_DELETED_AT = "to_char(d.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"

#: The soft-deleted rows of each soft-deletable table, labelled (newest deletion first).
DELETED_ROWS_SQL: dict[str, str] = {
    "users": "SELECT t.id, t.deleted_at, t.email AS label FROM users t "
    "WHERE t.deleted_at IS NOT NULL",
    "assets": "SELECT t.id, t.deleted_at, t.original_name || ' · ' || u.email AS label "
    "FROM assets t JOIN users u ON u.id = t.user_id WHERE t.deleted_at IS NOT NULL",
    "clips": "SELECT t.id, t.deleted_at, "
    "'clip #' || coalesce(t.rank::text, '?') || ' of ' || a.original_name AS label "
    "FROM clips t JOIN assets a ON a.id = t.asset_id WHERE t.deleted_at IS NOT NULL",
    "campaigns": "SELECT t.id, t.deleted_at, t.name || ' · ' || u.email AS label "
    "FROM campaigns t JOIN users u ON u.id = t.user_id WHERE t.deleted_at IS NOT NULL",
    "experiments": "SELECT t.id, t.deleted_at, t.name || ' · campaign ' || c.name AS label "
    "FROM experiments t JOIN campaigns c ON c.id = t.campaign_id "
    "WHERE t.deleted_at IS NOT NULL",
    "knowledge_documents": "SELECT t.id, t.deleted_at, t.name AS label "
    "FROM knowledge_documents t WHERE t.deleted_at IS NOT NULL",
}

#: The rows a form's picker offers, labelled, newest first: only the rows the form can act
#: on (live rows; predictions without actual figures; soft-deleted rows for restore and
#: purge). Each query takes its limit as its one parameter.
PICKER_SQL: dict[str, str] = {
    "users": (
        "SELECT u.id, u.email || ' · ' || u.name AS label FROM users u "
        "WHERE u.deleted_at IS NULL ORDER BY u.created_at DESC, u.id DESC LIMIT {}"
    ),
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
    # every status has a move out of it (the asset state machine), so every live asset
    "assets": (
        "SELECT a.id, a.original_name || ' · ' || a.status || ' · ' || u.email AS label "
        "FROM assets a JOIN users u ON u.id = a.user_id "
        "WHERE a.deleted_at IS NULL AND u.deleted_at IS NULL "
        "ORDER BY a.created_at DESC, a.original_name, a.id LIMIT {}"
    ),
    "predictions": (
        "SELECT p.id, a.original_name || ' · clip #' || coalesce(c.rank::text, '?') "
        "|| ' · ' || p.model_version || ' · predicted ROAS ' "
        "|| coalesce(p.predicted_roas::text, '-') || ' · ' || u.email AS label "
        "FROM predictions p JOIN clips c ON c.id = p.clip_id "
        "JOIN assets a ON a.id = c.asset_id JOIN users u ON u.id = a.user_id "
        f"WHERE {_LIVE_ACTUALS} AND c.deleted_at IS NULL AND a.deleted_at IS NULL "
        "AND u.deleted_at IS NULL "
        "ORDER BY p.created_at DESC, p.id DESC LIMIT {}"
    ),
    "deleted_rows": (
        "SELECT id, label FROM ("
        + " UNION ALL ".join(
            f"(SELECT id, deleted_at, '{table} · ' || label || ' · deleted ' || "
            f"{_DELETED_AT} AS label FROM ({sql}) d "
            "ORDER BY deleted_at DESC, id LIMIT {limit})"
            for table, sql in DELETED_ROWS_SQL.items()
        )
        + ") rows ORDER BY deleted_at DESC, label, id LIMIT {limit}"
    ),
}


async def picker_rows(*, table: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` rows of picker ``table`` (a key of :data:`PICKER_SQL`) as (id, label)."""
    from apps.ads.tables import Campaign  # its engine (the one database)

    sql = PICKER_SQL[table]
    if "{limit}" in sql:  # the same limit in every branch
        sql = sql.replace("{limit}", "{}")
        args = [limit] * sql.count("{}")
    else:
        args = [limit]
    async with translate_errors():
        rows = await Campaign._meta.db.run_querystring(QueryString(sql, *args))
    return [(str(row["id"]), str(row["label"])) for row in rows]


async def soft_deleted_table(*, row_id: object) -> str | None:
    """The soft-deletable table holding the soft-deleted row ``row_id`` (``None``: none)."""
    from apps.ads.tables import Campaign

    sql = " UNION ALL ".join(
        f"SELECT '{table}' AS name FROM {table} WHERE id = {{}} AND deleted_at IS NOT NULL"
        for table in DELETED_ROWS_SQL
    )
    async with translate_errors():
        rows = await Campaign._meta.db.run_querystring(
            QueryString(sql, *[row_id] * len(DELETED_ROWS_SQL))
        )
    return str(rows[0]["name"]) if rows else None


async def login_failure_nth_newest(*, keys: list[str], since: float, nth: int) -> list[float]:
    """For each key, the time (epoch seconds) of its ``nth`` newest failed admin login after
    ``since``; keys with fewer failures are left out."""
    from apps.audit.tables import AdminLoginFailure

    async with translate_errors():
        rows = await AdminLoginFailure._meta.db.run_querystring(
            QueryString(
                "SELECT (SELECT extract(epoch FROM f.failed_at)::float8 "
                "FROM admin_login_failures f "
                "WHERE f.key = k.key AND f.failed_at > to_timestamp({}) "
                "ORDER BY f.failed_at DESC OFFSET {} LIMIT 1) AS at "
                "FROM unnest({}::text[]) AS k(key)",
                since,
                nth - 1,
                keys,
            )
        )
    return [float(row["at"]) for row in rows if row["at"] is not None]
