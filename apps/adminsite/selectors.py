"""Reads the admin needs beside Piccolo Admin's own: row snapshots and cheap counts."""

from __future__ import annotations

import json
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.columns.base import Column
from piccolo.query import Select
from piccolo.table import Table

from apps.adminsite import registry
from apps.ads.selectors import LIVE_CAMPAIGN
from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.media.selectors import LIVE_ASSET, LIVE_CLIP
from apps.users.selectors import user_is_live


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


_ROW_ESTIMATE = rawsql.statement(
    "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", owner=__name__
)


async def table_row_estimate(*, table: type[Table]) -> int:
    """The planner's row count of ``table`` (``pg_class.reltuples``); -1 if never analysed."""
    estimate = await rawsql.fetchval(rawsql.engine_of(table), _ROW_ESTIMATE, table._meta.tablename)
    return -1 if estimate is None else int(estimate)


async def query_row_estimate(*, query: Select[Any]) -> int:
    """How many rows the planner expects ``query`` to return (EXPLAIN, not run)."""
    (querystring,) = query.querystrings
    sql, args = querystring.compile_string(engine_type="postgres")
    # The query is built from the request's filters: its text varies, so it is not a
    # registered statement (Piccolo wrote it; only the EXPLAIN prefix is ours).
    plan = await rawsql.fetchval(
        rawsql.engine_of(query.table), f"EXPLAIN (FORMAT JSON) {sql}", *args
    )
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
    async with translate_errors():
        exists: bool = await BaseUser.exists().where(
            (BaseUser.admin == True) & (BaseUser.active == True)  # noqa: E712
        )
    return exists


async def admin_login_active(username: str) -> bool | None:
    """Whether the login ``username`` is active (``None``: no such login)."""
    async with translate_errors():
        row = await BaseUser.select(BaseUser.active).where(BaseUser.username == username).first()
    return None if row is None else bool(row["active"])


async def dead_parent_ids(*, table: type[Table], sql: str) -> list[Any]:
    """The ids ``sql`` (a registered statement) selects: parents of ``table``'s rows that are
    soft-deleted (or under a soft-deleted parent), whose rows the lists hide."""
    rows = await rawsql.fetch(rawsql.engine_of(table), sql)
    return [row["id"] for row in rows]


_LIVE_ACTUALS = " AND ".join(
    f"p.actual_{name} IS NULL" for name in ("roas", "ctr", "cpc", "cpa", "engagement")
)
_DELETED_AT = "to_char(d.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"

#: How the restore and purge pickers label a soft-deleted row of these tables (the label
#: expression over the row ``t``, and the joins it needs). A soft-deletable table not named
#: here is labelled by its own readable columns (``Table.get_readable()``), else its id.
DELETED_ROW_LABELS: dict[str, tuple[str, str]] = {
    "assets": ("t.original_name || ' · ' || u.email", "JOIN users u ON u.id = t.user_id"),
    "clips": (
        "'clip #' || coalesce(t.rank::text, '?') || ' of ' || a.original_name",
        "JOIN assets a ON a.id = t.asset_id",
    ),
    "campaigns": ("t.name || ' · ' || u.email", "JOIN users u ON u.id = t.user_id"),
    "experiments": (
        "t.name || ' · campaign ' || c.name",
        "JOIN campaigns c ON c.id = t.campaign_id",
    ),
}


def _readable_label(table: type[Table]) -> str:
    """``table``'s own readable columns as a label expression over ``t`` (else its id)."""
    readable = table.get_readable()
    names = [column._meta.db_column_name for column in readable.columns]
    if any(column._meta.call_chain for column in readable.columns) or not names:
        return f"t.{table._meta.primary_key._meta.db_column_name}::text"
    template = readable.template.replace("'", "''")
    return f"format('{template}', {', '.join(f't.{name}' for name in names)})"


def _deleted_rows_sql(tablename: str, table: type[Table]) -> str:
    label, joins = DELETED_ROW_LABELS.get(tablename, (_readable_label(table), ""))
    return (
        f"SELECT t.id, t.deleted_at, {label} AS label FROM {tablename} t {joins} "
        "WHERE t.deleted_at IS NOT NULL"
    )


def _deleted_rows_picker(tables: dict[str, type[Table]]) -> str:
    """Every soft-deletable table's deleted rows, newest deletion first (limit ``$1``)."""
    return (
        "SELECT id, label FROM ("
        + " UNION ALL ".join(
            f"(SELECT id, deleted_at, '{name} · ' || label || ' · deleted ' || "
            f"{_DELETED_AT} AS label FROM ({_deleted_rows_sql(name, table)}) d "
            "ORDER BY deleted_at DESC, id LIMIT $1)"
            for name, table in tables.items()
        )
        + ") rows ORDER BY deleted_at DESC, label, id LIMIT $1"
    )


def _soft_deleted_table_sql(tables: dict[str, type[Table]]) -> str:
    return " UNION ALL ".join(
        f"SELECT '{name}' AS name FROM {name} WHERE id = $1 AND deleted_at IS NOT NULL"
        for name in tables
    )


#: The rows a form's picker offers, labelled, newest first: only the rows the form can act
#: on (live rows, by the owning apps' definitions; predictions without actual figures;
#: soft-deleted rows for restore and purge). Each query takes its limit as ``$1``.
PICKER_SQL: dict[str, str] = {
    name: rawsql.statement(sql, owner=__name__)
    for name, sql in {
        "users": (
            "SELECT u.id, u.email || ' · ' || u.name AS label FROM users u "
            f"WHERE {user_is_live('u.id')} ORDER BY u.created_at DESC, u.id DESC LIMIT $1"
        ),
        "campaigns": (
            "SELECT c.id, c.name || ' · ' || c.status || ' · ' || u.email AS label "
            "FROM campaigns c JOIN users u ON u.id = c.user_id "
            f"WHERE {LIVE_CAMPAIGN} "
            "ORDER BY c.created_at DESC, c.name, c.id LIMIT $1"
        ),
        "experiments": (
            "SELECT e.id, e.name || ' · ' || e.status || ' · campaign ' || c.name AS label "
            "FROM experiments e JOIN campaigns c ON c.id = e.campaign_id "
            f"WHERE e.deleted_at IS NULL AND {LIVE_CAMPAIGN} "
            "ORDER BY e.created_at DESC, e.name, e.id LIMIT $1"
        ),
        # every status has a move out of it (the asset state machine), so every live asset
        "assets": (
            "SELECT a.id, a.original_name || ' · ' || a.status || ' · ' || u.email AS label "
            "FROM assets a JOIN users u ON u.id = a.user_id "
            f"WHERE {LIVE_ASSET} "
            "ORDER BY a.created_at DESC, a.original_name, a.id LIMIT $1"
        ),
        "predictions": (
            "SELECT p.id, a.original_name || ' · clip #' || coalesce(c.rank::text, '?') "
            "|| ' · ' || p.model_version || ' · predicted ROAS ' "
            "|| coalesce(p.predicted_roas::text, '-') || ' · ' || u.email AS label "
            "FROM predictions p JOIN clips c ON c.id = p.clip_id "
            "JOIN assets a ON a.id = c.asset_id JOIN users u ON u.id = a.user_id "
            f"WHERE {_LIVE_ACTUALS} AND {LIVE_CLIP} "
            "ORDER BY p.created_at DESC, p.id DESC LIMIT $1"
        ),
        "deleted_rows": _deleted_rows_picker(registry.soft_deletable_tables()),
    }.items()
}

_SOFT_DELETED_TABLE = rawsql.statement(
    _soft_deleted_table_sql(registry.soft_deletable_tables()), owner=__name__
)


async def picker_rows(*, table: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` rows of picker ``table`` (a key of :data:`PICKER_SQL`) as (id, label)."""
    rows = await rawsql.fetch(rawsql.engine_of(BaseUser), PICKER_SQL[table], limit)
    return [(str(row["id"]), str(row["label"])) for row in rows]


async def soft_deleted_table(*, row_id: object) -> str | None:
    """The soft-deletable table holding the soft-deleted row ``row_id`` (``None``: none)."""
    name = await rawsql.fetchval(rawsql.engine_of(BaseUser), _SOFT_DELETED_TABLE, row_id)
    return None if name is None else str(name)


_LOGIN_FAILURE_NTH_NEWEST = rawsql.statement(
    "SELECT (SELECT extract(epoch FROM f.failed_at)::float8 "
    "FROM admin_login_failures f "
    "WHERE f.key = k.key AND f.failed_at > to_timestamp($1) "
    "ORDER BY f.failed_at DESC OFFSET $2 LIMIT 1) AS at "
    "FROM unnest($3::text[]) AS k(key)",
    owner=__name__,
)


async def login_failure_nth_newest(*, keys: list[str], since: float, nth: int) -> list[float]:
    """For each key, the time (epoch seconds) of its ``nth`` newest failed admin login after
    ``since``; keys with fewer failures are left out."""
    from apps.audit.tables import AdminLoginFailure

    rows = await rawsql.fetch(
        rawsql.engine_of(AdminLoginFailure), _LOGIN_FAILURE_NTH_NEWEST, since, nth - 1, keys
    )
    return [float(row["at"]) for row in rows if row["at"] is not None]
