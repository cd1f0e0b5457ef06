"""``piccolo db stats`` and the admin's database page: where the database spends its effort.

Everything comes from PostgreSQL's cumulative statistics views (``pg_stat_*``, counted since
the last ``pg_stat_reset()``, shown as ``stats_reset``) and, when the server loads it, from
``pg_stat_statements``. Nothing here reads a table's rows.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager

from apps.core import observability, rawsql
from apps.db.connection import dedicated_connection, project_engine

TOP = 10
# A table is listed under "sequential scans" once it has had this many of them.
SEQ_SCAN_MINIMUM = 10
# The admin and the command show the first characters of a statement.
STATEMENT_CHARS = 300

STATEMENTS_HOWTO = (
    "pg_stat_statements is not loaded by this server. The embedded server loads it unless "
    "GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS=false or its one-time download failed (python -m "
    "apps.core.pg_contrib status). On another server: SHOW shared_preload_libraries; if "
    "pg_stat_statements is missing, add it (the server's parameter settings on a managed "
    "service, postgresql.conf otherwise) and restart; then run CREATE EXTENSION IF NOT EXISTS "
    "pg_stat_statements; in this database."
)
STATEMENTS_NOT_CREATED = (
    "pg_stat_statements is loaded by the server but not created in this database: run "
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; (a superuser, or a managed service's "
    "admin role; the role that reads the report needs pg_read_all_stats to see the texts)."
)


@dataclass
class StatsReport:
    """The figures of ``piccolo db stats``; every list is biggest first."""

    database: str
    database_bytes: int
    stats_reset: str | None
    cache_hit_ratio: float | None
    largest_tables: list[dict[str, Any]] = field(default_factory=list)
    largest_indexes: list[dict[str, Any]] = field(default_factory=list)
    unused_indexes: list[dict[str, Any]] = field(default_factory=list)
    sequential_scans: list[dict[str, Any]] = field(default_factory=list)
    dead_tuples: list[dict[str, Any]] = field(default_factory=list)
    statements_available: bool = False
    statements_note: str = ""
    slowest_statements: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(records: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in record.items()} for record in records]


#: Whether the migration history table exists (not before the first deploy).
MIGRATION_HISTORY_EXISTS = rawsql.statement(
    "SELECT to_regclass('migration') IS NOT NULL", owner=__name__
)
#: Every applied migration, by app.
APPLIED_MIGRATIONS = rawsql.statement("SELECT app_name, name FROM migration", owner=__name__)

LARGEST_TABLES = rawsql.statement(
    f"""
SELECT c.relname AS table, sum(pg_total_relation_size(t.relid))::bigint AS total_bytes,
       sum(pg_relation_size(t.relid))::bigint AS table_bytes,
       sum(pg_indexes_size(t.relid))::bigint AS index_bytes,
       sum(s.n_live_tup)::bigint AS live_rows
FROM pg_class c
CROSS JOIN LATERAL pg_partition_tree(c.oid) t
LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid
-- a partitioned table counts once, with its partitions' sizes and rows
WHERE NOT c.relispartition
  AND (c.relkind = 'p' OR c.oid IN (SELECT relid FROM pg_stat_user_tables))
  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
GROUP BY c.oid, c.relname
ORDER BY total_bytes DESC, c.relname LIMIT {TOP}
""",
    owner=__name__,
)
LARGEST_INDEXES = rawsql.statement(
    f"""
SELECT s.indexrelname AS index, s.relname AS table, pg_relation_size(s.indexrelid) AS bytes,
       s.idx_scan AS scans
FROM pg_stat_user_indexes s
ORDER BY bytes DESC, s.indexrelname LIMIT {TOP}
""",
    owner=__name__,
)
# Unique and primary-key indexes enforce a rule even when no query reads them: never listed.
UNUSED_INDEXES = rawsql.statement(
    """
SELECT s.indexrelname AS index, s.relname AS table, pg_relation_size(s.indexrelid) AS bytes
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
ORDER BY bytes DESC, s.indexrelname
""",
    owner=__name__,
)
SEQUENTIAL_SCANS = rawsql.statement(
    f"""
SELECT relname AS table, seq_scan AS sequential_scans, seq_tup_read AS rows_read,
       coalesce(idx_scan, 0) AS index_scans, n_live_tup AS live_rows
FROM pg_stat_user_tables
WHERE seq_scan >= {SEQ_SCAN_MINIMUM} AND seq_scan > coalesce(idx_scan, 0)
ORDER BY seq_tup_read DESC, seq_scan DESC, relname LIMIT {TOP}
""",
    owner=__name__,
)
DEAD_TUPLES = rawsql.statement(
    f"""
SELECT relname AS table, n_dead_tup AS dead_rows, n_live_tup AS live_rows,
       last_autovacuum, last_vacuum, autovacuum_count
FROM pg_stat_user_tables
ORDER BY n_dead_tup DESC, relname LIMIT {TOP}
""",
    owner=__name__,
)
DATABASE = rawsql.statement(
    """
SELECT current_database() AS database, pg_database_size(current_database()) AS bytes,
       d.stats_reset,
       CASE WHEN d.blks_hit + d.blks_read > 0
            THEN d.blks_hit::float8 / (d.blks_hit + d.blks_read) END AS cache_hit_ratio
FROM pg_stat_database d WHERE d.datname = current_database()
""",
    owner=__name__,
)
STATEMENTS_STATE = rawsql.statement(
    """
SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements') AS created,
       'pg_stat_statements' = ANY (
           string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
       AS preloaded
""",
    owner=__name__,
)
SLOWEST_STATEMENTS = f"""
SELECT left(query, {STATEMENT_CHARS}) AS statement, calls, rows,
       round(total_exec_time::numeric, 3) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY mean_exec_time DESC LIMIT {TOP}
"""


async def collect_stats(connection: asyncpg.Connection) -> StatsReport:
    """The report, read on ``connection``."""
    database = await connection.fetchrow(DATABASE)
    report = StatsReport(
        database=database["database"],
        database_bytes=database["bytes"],
        stats_reset=_plain(database["stats_reset"]),
        cache_hit_ratio=database["cache_hit_ratio"],
        largest_tables=_rows(await connection.fetch(LARGEST_TABLES)),
        largest_indexes=_rows(await connection.fetch(LARGEST_INDEXES)),
        unused_indexes=_rows(await connection.fetch(UNUSED_INDEXES)),
        sequential_scans=_rows(await connection.fetch(SEQUENTIAL_SCANS)),
        dead_tuples=_rows(await connection.fetch(DEAD_TUPLES)),
    )
    state = await connection.fetchrow(STATEMENTS_STATE)
    if state["created"] and state["preloaded"]:
        report.statements_available = True
        report.slowest_statements = _rows(await connection.fetch(SLOWEST_STATEMENTS))
    elif state["preloaded"]:
        report.statements_note = STATEMENTS_NOT_CREATED
    else:
        report.statements_note = STATEMENTS_HOWTO
    return report


async def database_stats() -> StatsReport:
    """The report for the configured database: on a pooled connection when the pool is open
    (the web app), on a dedicated one otherwise (the command)."""
    engine = project_engine()
    if engine.pool is None:
        async with dedicated_connection() as connection:
            return await collect_stats(connection)
    connection = await engine.acquire_connection()
    broken = True
    try:
        report = await collect_stats(connection)
        broken = False
        return report
    finally:
        await engine.release_connection(connection, broken=broken)


# --- pending migrations (/readyz, /metrics) -------------------------------------------------


@lru_cache(maxsize=1)
def known_migrations() -> frozenset[tuple[str, str]]:
    """Every (app, migration id) the code holds; the files do not change while running."""
    finder = BaseMigrationManager()
    known: set[tuple[str, str]] = set()
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name=app_name)
        for name in finder.get_migration_modules(app_config.resolved_migrations_folder_path):
            known.add((app_name, name))
    return frozenset(known)


async def pending_migrations() -> list[str]:
    """``app:id`` of every migration in the code that the database has not recorded.

    Runs through the engine, so inside a transaction it sees that transaction's rows.
    """
    engine = project_engine()
    applied: set[tuple[str, str]] = set()
    if await rawsql.fetchval(engine, MIGRATION_HISTORY_EXISTS):
        rows = await rawsql.fetch(engine, APPLIED_MIGRATIONS)
        applied = {(row["app_name"], row["name"]) for row in rows}
    pending = sorted(f"{app}:{name}" for app, name in known_migrations() - applied)
    observability.MIGRATIONS.pending = len(pending)
    return pending


# --- the terminal report ----------------------------------------------------------------------


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _table(title: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    lines = [title]
    if not rows:
        return [*lines, "  (none)", ""]
    cells = [[_cell(column, row[column]) for column in columns] for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in cells)) for i, column in enumerate(columns)]
    lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row_cells in cells:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row_cells, widths, strict=True)))
    return [*lines, ""]


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "never" if column.startswith("last_") else "-"
    if column.endswith("bytes"):
        return _size(int(value))
    return " ".join(str(value).split())


def render_text(report: StatsReport) -> str:
    """The report as the command prints it."""
    ratio = "-" if report.cache_hit_ratio is None else f"{report.cache_hit_ratio:.2%}"
    lines = [
        f"database         {report.database} ({_size(report.database_bytes)})",
        f"stats since      {report.stats_reset or 'the server started'}",
        f"cache hit ratio  {ratio}",
        "",
        *_table(
            "largest tables",
            report.largest_tables,
            ("table", "total_bytes", "table_bytes", "index_bytes", "live_rows"),
        ),
        *_table("largest indexes", report.largest_indexes, ("index", "table", "bytes", "scans")),
        *_table(
            "indexes never used (not unique, since stats reset)",
            report.unused_indexes,
            ("index", "table", "bytes"),
        ),
        *_table(
            f"tables with many sequential scans (at least {SEQ_SCAN_MINIMUM}, "
            "more than index scans)",
            report.sequential_scans,
            ("table", "sequential_scans", "rows_read", "index_scans", "live_rows"),
        ),
        *_table(
            "dead rows and vacuum",
            report.dead_tuples,
            ("table", "dead_rows", "live_rows", "last_autovacuum", "last_vacuum"),
        ),
    ]
    if report.statements_available:
        lines += _table(
            "slowest statements (pg_stat_statements, by mean time)",
            report.slowest_statements,
            ("mean_ms", "calls", "rows", "total_ms", "statement"),
        )
    else:
        lines += ["slowest statements", f"  {report.statements_note}", ""]
    return "\n".join(lines).rstrip() + "\n"
