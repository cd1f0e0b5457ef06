"""``piccolo db doctor``: what the configured database is, and what is wrong with it.

It connects the way the app does (same URL, same connect timeout), and never shows the
password. Every problem is one line; the command exits non-zero when there is any.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager

from apps.core import rawsql
from apps.core.drift import migration_drift
from apps.core.errors import DatabaseUnavailableError
from apps.db.connection import dedicated_connection, project_engine
from apps.db.indexes import invalid_index_advice, invalid_indexes
from apps.db.stats import APPLIED_MIGRATIONS, MIGRATION_HISTORY_EXISTS


@dataclass
class DoctorReport:
    """Facts (label, value) to print, and problems (one line each)."""

    facts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value else "none (waits for ever)"


async def _migration_status(connection: asyncpg.Connection, report: DoctorReport) -> None:
    history_exists = await connection.fetchval(MIGRATION_HISTORY_EXISTS)
    applied: dict[str, set[str]] = {}
    if history_exists:
        for row in await connection.fetch(APPLIED_MIGRATIONS):
            applied.setdefault(row["app_name"], set()).add(row["name"])
    finder = BaseMigrationManager()
    total_pending = 0
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name=app_name)
        files = set(finder.get_migration_modules(app_config.resolved_migrations_folder_path))
        if not files:
            continue
        done = applied.get(app_name, set())
        pending = sorted(files - done)
        unknown = sorted(done - files)
        total_pending += len(pending)
        report.facts.append(
            (f"migrations {app_name}", f"{len(files & done)} applied, {len(pending)} pending")
        )
        if unknown:
            report.problems.append(
                f"app {app_name} has applied migrations missing from the code: "
                + ", ".join(unknown)
            )
    if total_pending:
        report.problems.append(f"{total_pending} migration(s) pending: run `piccolo db deploy`")


ADMIN_LOGIN_FIX = (
    "run `make run` (it creates the local login on the embedded database) or "
    "`piccolo user create` (answer yes to 'admin user')"
)


_LOGINS_TABLE_MISSING = rawsql.statement(
    "SELECT to_regclass('piccolo_user') IS NULL", owner=__name__
)
_ADMIN_LOGINS = rawsql.statement(
    "SELECT count(*) FROM piccolo_user WHERE admin AND active", owner=__name__
)


async def _admin_login_status(connection: asyncpg.Connection, report: DoctorReport) -> None:
    """Nobody can log in to the admin without an active admin login (after a reset, say)."""
    if await connection.fetchval(_LOGINS_TABLE_MISSING):
        return  # not migrated: reported with the pending migrations
    logins = await connection.fetchval(_ADMIN_LOGINS)
    report.facts.append(("admin logins", str(logins)))
    if not logins:
        report.problems.append(f"no admin login: {ADMIN_LOGIN_FIX}")


async def database_doctor() -> DoctorReport:
    """Check the configured database; problems are collected, never raised."""
    engine = project_engine()
    report = DoctorReport()
    url = engine.url
    report.facts.append(("database", url.redacted))
    report.facts.append(
        (
            "pool",
            f"min {engine.pool_min_size}, max {engine.pool_max_size}, "
            f"acquire timeout {_seconds(engine.pool_timeout)}, "
            f"connect timeout {_seconds(url.connect_timeout)}",
        )
    )
    try:
        async with dedicated_connection() as connection:
            version = await connection.fetchval("SHOW server_version")
            report.facts.append(("server", f"PostgreSQL {version}"))
            pgvector = await connection.fetchval(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            )
            if pgvector:
                report.facts.append(("pgvector", pgvector))
            else:
                available = await connection.fetchval(
                    "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
                )
                report.facts.append(("pgvector", "not installed"))
                report.problems.append(
                    f"the pgvector extension is not installed in database {url.database} "
                    + (
                        f"(version {available} is available: run `piccolo db deploy`)"
                        if available
                        else "and the server does not ship it: install pgvector on the server"
                    )
                )
            await _migration_status(connection, report)
            invalid = await invalid_indexes(connection)
            report.facts.append(("invalid indexes", ", ".join(invalid) or "none"))
            if invalid:
                report.problems.append(invalid_index_advice(invalid))
            await _admin_login_status(connection, report)
    except DatabaseUnavailableError as error:
        report.problems.append(error.message)
        return report
    drift = await migration_drift()
    report.facts.append(("drift", "none" if not drift else ", ".join(drift)))
    for app_name, statements in drift.items():
        report.problems.append(
            f"app {app_name} has {len(statements)} table change(s) without a migration "
            "(see `piccolo db drift`)"
        )
    return report
