"""Defect 5 of issue 11 (in part): restore refuses a valid dump that is not of this project's
database, or that lacks some of its tables, before it touches anything."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from apps.core.dburl import parse_database_url
from apps.db.pgtools import find_client_tool, libpq_target
from tests.conftest import admin_execute, database_url
from tests.db.helpers import fetch, one_line_error, piccolo_db, table_checksums

pytestmark = pytest.mark.reliability


def _pg_dump(url: str, path: Path, *options: str) -> None:
    dsn, env = libpq_target(parse_database_url(url))
    pg_dump = find_client_tool("pg_dump", server_major=18)
    subprocess.run(
        [str(pg_dump), "--format=custom", f"--file={path}", f"--dbname={dsn}", *options],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


async def test_a_dump_of_an_unrelated_database_is_refused(
    migrated_database: str, tmp_path: Path
) -> None:
    # given a valid pg_dump archive of some other database
    name = f"unrelated_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name}")
    try:
        await fetch(database_url(name), "CREATE TABLE invoices (id integer PRIMARY KEY)")
        archive = tmp_path / "unrelated.dump"
        _pg_dump(database_url(name), archive)
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    before = await table_checksums(migrated_database)
    # when it is restored, then it is refused and nothing changed
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)
    one_line_error(result, str(archive), "is not a backup of this project's database")
    assert await table_checksums(migrated_database) == before


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (("--exclude-table=conversions",), "lacks the table(s) conversions"),
        (("--exclude-table-data=campaigns",), "lacks the rows of campaigns"),
    ],
)
async def test_a_partial_dump_is_refused(
    migrated_database: str, tmp_path: Path, options: tuple[str, ...], reason: str
) -> None:
    # given a dump of this project's database made without one table (or its rows)
    archive = tmp_path / "partial.dump"
    _pg_dump(migrated_database, archive, *options)
    before = await table_checksums(migrated_database)
    # when it is restored, then it is refused and nothing changed
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)
    one_line_error(result, str(archive), reason)
    assert await table_checksums(migrated_database) == before
