"""Reads the admin needs beside Piccolo Admin's own: row snapshots and cheap counts."""

from __future__ import annotations

import json
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.columns.base import Column
from piccolo.query import Select
from piccolo.table import Table

from apps.adminsite import registry
from apps.core import rawsql
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


_DELETED_AT = "to_char(d.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"


def _readable_label(table: type[Table]) -> str:
    """``table``'s own readable columns as a label expression over ``t`` (else its id)."""
    readable = table.get_readable()
    names = [column._meta.db_column_name for column in readable.columns]
    if any(column._meta.call_chain for column in readable.columns) or not names:
        return f"t.{table._meta.primary_key._meta.db_column_name}::text"
    template = readable.template.replace("'", "''")
    return f"format('{template}', {', '.join(f't.{name}' for name in names)})"


def _deleted_rows_sql(tablename: str, table: type[Table]) -> str:
    # The owning app's label (``ROW_LABELS`` of its selectors), else the readable columns.
    label = registry.row_labels().get(tablename) or _readable_label(table)
    return (
        f"SELECT t.id, t.deleted_at, {label} AS label FROM {tablename} t "
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


#: The soft-deleted rows of every soft-deletable table, labelled, newest deletion first, for
#: the restore and purge pickers (``$1`` the limit). The generic soft-delete machinery of the
#: registry: the tables come from their ``deleted_at`` column, the labels from their apps.
_DELETED_ROW_CHOICES = rawsql.statement(
    _deleted_rows_picker(registry.soft_deletable_tables()), owner=__name__
)

_SOFT_DELETED_TABLE = rawsql.statement(
    _soft_deleted_table_sql(registry.soft_deletable_tables()), owner=__name__
)


async def deleted_row_choices(*, limit: int) -> list[tuple[Any, str]]:
    """Up to ``limit`` soft-deleted rows of any table, newest deletion first, labelled."""
    return await rawsql.fetch_choices(BaseUser, _DELETED_ROW_CHOICES, limit)


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
