"""Helpers of the ``piccolo db`` tests: run the real CLI, fingerprint a database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

import asyncpg

from apps.core.dburl import parse_database_url
from tests.conftest import PROJECT_ROOT

# An active admin login (doctor reports a database without one as a problem).
ADD_ADMIN_LOGIN = (
    "INSERT INTO piccolo_user (username, password, email, admin, active, superuser,"
    " first_name, last_name) VALUES ('ada', 'x', 'ada@example.com', true, true, false, '', '')"
)
MIGRATION_FILES = 36  # every migration of every app in piccolo_conf, third-party ones too


def command_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI run against ``url`` (extra GATEWAYDB_* settings allowed)."""
    return {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test", **extra}


def piccolo_db(
    *args: str, url: str, stdin: str | None = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``piccolo db <args>`` against ``url``; stdin is a pipe (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "piccolo.main", "db", *args],
        cwd=PROJECT_ROOT,
        env=command_env(url, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_piccolo_db(*args: str, url: str, **extra: str) -> subprocess.Popen[str]:
    """Start ``piccolo db <args>`` without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "piccolo.main", "db", *args],
        cwd=PROJECT_ROOT,
        env=command_env(url, **extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Run one query on database ``url`` over a connection of its own."""
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await connection.close()


async def table_checksums(url: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every row's text (in a stable order), per table of ``public``."""
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        tables = [
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        result: dict[str, tuple[int, str]] = {}
        for table in tables:
            row = await connection.fetchrow(
                f"SELECT count(*) AS rows, "
                f"md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest "
                f'FROM public."{table}" AS t'
            )
            assert row is not None
            result[table] = (row["rows"], row["digest"])
        return result
    finally:
        await connection.close()


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Assert the command failed with one ``error:`` line containing ``fragments``."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def lines(text: str, prefix: str) -> Sequence[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]
