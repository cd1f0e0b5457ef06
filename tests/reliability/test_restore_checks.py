"""Defect 5 of issue 11 (in part): restore refuses a dump that is not of this project's
database, or that lacks some of its tables, before it touches anything; even when it comes
in a backup file whose manifest describes it honestly (so only the table-of-contents check
can catch it), and when it is a bare pg_dump archive without a manifest."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import admin_execute, database_url
from tests.db.helpers import fetch, one_line_error, piccolo_db, table_checksums
from tests.reliability.restore_helpers import backup, pg_dump, read_backup, rebuild

pytestmark = pytest.mark.reliability


async def test_a_dump_of_an_unrelated_database_is_refused(
    migrated_database: str, tmp_path: Path
) -> None:
    # given a valid pg_dump archive of some other database, in a backup file whose
    # manifest describes it
    name = f"unrelated_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name}")
    try:
        await fetch(database_url(name), "CREATE TABLE invoices (id integer PRIMARY KEY)")
        dump = tmp_path / "unrelated.dump"
        pg_dump(database_url(name), dump)
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    manifest = {
        "format": "gatewaydb-backup",
        "version": 1,
        "created_at": "2026-01-01T00:00:00+00:00",
        "server_version": 180000,
        "migrations": {},
        "tables": {"invoices": {"rows": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e"}},
    }
    archive = rebuild(manifest, dump, tmp_path / "unrelated.backup")
    before = await table_checksums(migrated_database)
    # when it is restored, then it is refused and nothing changed
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)
    one_line_error(result, str(archive), "is not a backup of this project's database")
    assert await table_checksums(migrated_database) == before
    # and the bare dump is refused too
    result = piccolo_db("restore", str(dump), "--yes", url=migrated_database)
    one_line_error(result, str(dump), "bare pg_dump archive without a manifest")
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
    # given a dump of this project's database made without one table (or its rows), in a
    # backup file whose manifest describes it
    manifest, _ = read_backup(_backup_of(migrated_database, tmp_path), tmp_path)
    dump = tmp_path / "partial.dump"
    pg_dump(migrated_database, dump, *options)
    if "--exclude-table=conversions" in options:
        del manifest["tables"]["conversions"]
    archive = rebuild(manifest, dump, tmp_path / "partial.backup")
    before = await table_checksums(migrated_database)
    # when it is restored, then it is refused and nothing changed
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)
    one_line_error(result, str(archive), reason)
    assert await table_checksums(migrated_database) == before


def _backup_of(url: str, folder: Path) -> Path:
    path = folder / "full.backup"
    backup(url, path)
    return path
