"""Defect 5 of issue 11: a backup carries a manifest, and restore verifies the file against it
and against this project's migrations before it touches anything, then verifies the restored
tables against it before it commits. Every refusal leaves every table's checksum as it was."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from apps.db.manifest import FORMAT, FORMAT_VERSION, MANIFEST_NAME
from tests.conftest import TEMPLATE_DATABASE, admin_execute, database_url
from tests.db.helpers import ADD_ADMIN_LOGIN, fetch, one_line_error, piccolo_db, table_checksums
from tests.reliability.restore_helpers import (
    backup,
    dump_offset,
    flip_bit,
    pg_dump,
    read_backup,
    rebuild,
)

pytestmark = pytest.mark.reliability


@dataclass(frozen=True)
class Backup:
    path: Path
    checksums: dict[str, tuple[int, str]]
    seconds: float


@pytest.fixture(scope="module")
async def seeded_backup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backup]:
    """A backup of a seeded database, and the checksums of every table at backup time."""
    name = f"manifest_source_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    url = database_url(name)
    try:
        assert piccolo_db("seed", url=url).returncode == 0
        await fetch(url, ADD_ADMIN_LOGIN)
        path = tmp_path_factory.mktemp("manifest") / "gateway.backup"
        seconds = backup(url, path)
        yield Backup(path=path, checksums=await table_checksums(url), seconds=seconds)
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _live_with_data_of_its_own(url: str) -> dict[str, tuple[int, str]]:
    await fetch(url, "INSERT INTO users (email, name) VALUES ('live@x.io', 'Live')")
    return await table_checksums(url)


def _restore(path: Path, url: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = piccolo_db("restore", str(path), "--yes", url=url)
    return time.perf_counter() - started, result


async def test_the_manifest_records_the_snapshot_of_every_table(
    seeded_backup: Backup, tmp_path: Path
) -> None:
    # given a backup of a seeded database
    manifest, dump = read_backup(seeded_backup.path, tmp_path)
    # then it is one owner-only file, the manifest first, with format and version
    assert seeded_backup.path.stat().st_mode & 0o777 == 0o600
    with tarfile.open(seeded_backup.path, "r:") as archive:
        assert archive.getnames() == ["manifest.json", "database.dump"]
    assert (manifest["format"], manifest["version"]) == (FORMAT, FORMAT_VERSION)
    assert dump.read_bytes().startswith(b"PGDMP")
    # and every table's row count and checksum, as the test helper computes them
    assert set(manifest["tables"]) == set(seeded_backup.checksums)
    for table, (rows, _) in seeded_backup.checksums.items():
        assert manifest["tables"][table]["rows"] == rows, table
    # and the applied migrations per app, as the history holds them
    history = await fetch(
        database_url(TEMPLATE_DATABASE), "SELECT app_name, name FROM migration ORDER BY 1, 2"
    )
    expected: dict[str, list[str]] = {}
    for row in history:
        expected.setdefault(row["app_name"], []).append(row["name"])
    assert manifest["migrations"] == expected
    assert manifest["dump"]["bytes"] == dump.stat().st_size
    print(
        f"\nFIGURE backup: {seeded_backup.path.stat().st_size} bytes, "
        f"{len(manifest['tables'])} tables, "
        f"{sum(t['rows'] for t in manifest['tables'].values())} rows, "
        f"{seeded_backup.seconds:.2f} s"
    )


async def test_round_trip_keeps_every_table_identical(
    migrated_database: str, seeded_backup: Backup
) -> None:
    # given a live database holding other data than the backup
    await _live_with_data_of_its_own(migrated_database)
    await fetch(migrated_database, "CREATE TABLE created_after_backup (id integer)")
    assert await table_checksums(migrated_database) != seeded_backup.checksums
    # when the backup is restored
    seconds, result = _restore(seeded_backup.path, migrated_database)
    # then every table holds exactly what it held at backup time, and nothing else is left
    assert result.returncode == 0, result.stderr
    assert "verified against the manifest" in result.stdout
    assert await table_checksums(migrated_database) == seeded_backup.checksums
    assert piccolo_db("doctor", url=migrated_database).returncode == 0
    print(
        f"\nFIGURE restore round trip: {seeded_backup.path.stat().st_size} bytes, "
        f"{len(seeded_backup.checksums)} tables identical, {seconds:.2f} s"
    )


def _truncated(source: Path, target: Path) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def _random(source: Path, target: Path) -> None:
    target.write_bytes(os.urandom(source.stat().st_size))


def _flip_in_toc(source: Path, target: Path) -> None:
    offset, size = dump_offset(source)
    assert size > 4096
    # past the archive header (magic, versions, database name), inside the TOC entries
    flip_bit(source, target, offset + 512, bit=3)


def _flip_in_data(source: Path, target: Path) -> None:
    offset, size = dump_offset(source)
    # the last bytes of a custom-format archive are the last table's data block
    flip_bit(source, target, offset + size - 8, bit=0)


def _flip_in_manifest(source: Path, target: Path) -> None:
    with tarfile.open(source, "r:") as archive:
        member = archive.getmember(MANIFEST_NAME)
    text = source.read_bytes()
    position = text.index(b'"rows": ', member.offset_data) + len(b'"rows": ')
    flip_bit(source, target, position, bit=0)  # a digit changes: '3' -> '2'


def _bare_dump(source: Path, target: Path) -> None:
    offset, size = dump_offset(source)
    target.write_bytes(source.read_bytes()[offset : offset + size])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncated, "is damaged: it is truncated or unreadable"),
        (_random, "is not a gatewaydb backup"),
        (_flip_in_toc, "does not match the manifest's sha256"),
        (_flip_in_data, "does not match the manifest's sha256"),
        (_flip_in_manifest, "its manifest does not match its own checksum"),
        (_bare_dump, "is a bare pg_dump archive without a manifest"),
    ],
    ids=["truncated", "random", "bit-in-toc", "bit-in-data", "bit-in-manifest", "bare-dump"],
)
async def test_a_damaged_backup_is_refused_and_nothing_changes(
    migrated_database: str,
    seeded_backup: Backup,
    tmp_path: Path,
    damage: Callable[[Path, Path], None],
    reason: str,
) -> None:
    # given a damaged copy of a good backup, and a live database with data of its own
    archive = tmp_path / "damaged.backup"
    damage(seeded_backup.path, archive)
    before = await _live_with_data_of_its_own(migrated_database)
    # when it is restored
    seconds, result = _restore(archive, migrated_database)
    # then one error line names the file and the reason, and every table is as it was
    one_line_error(result, str(archive), reason)
    assert await table_checksums(migrated_database) == before
    print(f"\nFIGURE refused {damage.__name__}: {archive.stat().st_size} bytes, {seconds:.2f} s")


async def test_a_backup_of_newer_code_is_refused(
    migrated_database: str, seeded_backup: Backup, tmp_path: Path
) -> None:
    # given a self-consistent backup whose history holds a migration this code lacks
    manifest, dump = read_backup(seeded_backup.path, tmp_path)
    manifest["migrations"]["ads"] = [*manifest["migrations"]["ads"], "2099-01-01T00:00:00:000000"]
    archive = rebuild(manifest, dump, tmp_path / "newer.backup")
    before = await _live_with_data_of_its_own(migrated_database)
    # when it is restored, then it is refused before anything changes
    _, result = _restore(archive, migrated_database)
    one_line_error(result, str(archive), "another version", "ads:2099-01-01T00:00:00:000000")
    assert await table_checksums(migrated_database) == before


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (("users", "md5", "0" * 32), "the rows of table users differ from the manifest"),
        (("campaigns", "rows", 999), "table campaigns has"),
    ],
    ids=["checksum", "row-count"],
)
async def test_a_restore_that_fails_verification_after_the_replay_changes_nothing(
    migrated_database: str,
    seeded_backup: Backup,
    tmp_path: Path,
    tamper: tuple[str, str, object],
    reason: str,
) -> None:
    # given a self-consistent backup whose manifest disagrees with its data on one table,
    # so that the mismatch is found only once every table has been replayed
    manifest, dump = read_backup(seeded_backup.path, tmp_path)
    table, key, value = tamper
    manifest["tables"][table][key] = value
    archive = rebuild(manifest, dump, tmp_path / "mismatch.backup")
    before = await _live_with_data_of_its_own(migrated_database)
    # when it is restored
    seconds, result = _restore(archive, migrated_database)
    # then it is rolled back with one line naming the table, and the live database is as it was
    one_line_error(result, "restore was rolled back, the database is unchanged", reason)
    assert await table_checksums(migrated_database) == before
    print(f"\nFIGURE verification mismatch ({table} {key}) rolled back after {seconds:.2f} s")


async def test_a_self_consistent_backup_of_a_partial_dump_is_refused(
    migrated_database: str, seeded_backup: Backup, tmp_path: Path
) -> None:
    # given a backup whose manifest honestly describes a dump made without `conversions`
    manifest, _ = read_backup(seeded_backup.path, tmp_path)
    partial = tmp_path / "partial.dump"
    pg_dump(migrated_database, partial, "--exclude-table=conversions")
    del manifest["tables"]["conversions"]
    archive = rebuild(manifest, partial, tmp_path / "partial.backup")
    before = await _live_with_data_of_its_own(migrated_database)
    # when it is restored, then it is refused before anything changes
    _, result = _restore(archive, migrated_database)
    one_line_error(result, str(archive), "lacks the table(s) conversions")
    assert await table_checksums(migrated_database) == before


async def test_a_dump_that_differs_from_its_manifest_tables_is_refused(
    migrated_database: str, seeded_backup: Backup, tmp_path: Path
) -> None:
    # given a backup whose manifest lists a table its dump does not hold
    manifest, dump = read_backup(seeded_backup.path, tmp_path)
    manifest["tables"]["ghost"] = {"rows": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e"}
    archive = rebuild(manifest, dump, tmp_path / "ghost.backup")
    before = await _live_with_data_of_its_own(migrated_database)
    _, result = _restore(archive, migrated_database)
    one_line_error(
        result, str(archive), "the tables of the pg_dump archive differ from the manifest's"
    )
    assert await table_checksums(migrated_database) == before


async def test_a_role_that_may_not_replace_the_schema_gets_a_clear_error(
    migrated_database: str, seeded_backup: Backup
) -> None:
    # given an application role that can connect but does not own schema public
    role = f"app_{uuid.uuid4().hex[:8]}"
    database = migrated_database.split("?")[0].rsplit("/", 1)[-1]
    await admin_execute(
        f"CREATE ROLE {role} LOGIN", f"GRANT CONNECT ON DATABASE {database} TO {role}"
    )
    try:
        before = await _live_with_data_of_its_own(migrated_database)
        parts = urlsplit(migrated_database)
        url = urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rsplit('@', 1)[-1]}"))
        # when it restores
        _, result = _restore(seeded_backup.path, url)
        # then one line says what is missing and what to do, and nothing changed
        one_line_error(result, f"role {role} may not replace schema public", "migration role")
        assert await table_checksums(migrated_database) == before
    finally:
        await admin_execute(
            f"REVOKE CONNECT ON DATABASE {database} FROM {role}", f"DROP ROLE IF EXISTS {role}"
        )


def test_the_manifest_format_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "RELIABILITY.md").read_text()
    for field in ("format", "version", "migrations", "tables", "dump", "checksum"):
        assert f"`{field}`" in text, field
    assert json.dumps(FORMAT) in text


async def test_a_backup_taken_under_writes_is_one_consistent_snapshot(
    migrated_database: str, tmp_path: Path
) -> None:
    # given a source database that receives a row every few milliseconds
    name = f"busy_source_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    source = database_url(name)
    stop = asyncio.Event()
    written = 0

    async def write() -> None:
        nonlocal written
        connection = await asyncpg.connect(parse_database_url(source).dsn)
        try:
            while not stop.is_set():
                await connection.execute(
                    "INSERT INTO users (email, name) VALUES ($1, 'Busy')",
                    f"busy{written}@x.io",
                )
                written += 1
                await asyncio.sleep(0.005)
        finally:
            await connection.close()

    archive = tmp_path / "busy.backup"
    writer = asyncio.create_task(write())
    try:
        await asyncio.sleep(0.5)
        # when it is backed up meanwhile
        await asyncio.to_thread(backup, source, archive)
        stop.set()
        await writer
    finally:
        stop.set()
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    manifest, _ = read_backup(archive, tmp_path)
    # then rows were written during the backup, and the manifest's count is one of them
    assert 0 < manifest["tables"]["users"]["rows"] < written
    # and the dump agrees with the manifest table by table: the restore verifies and commits
    _, result = _restore(archive, migrated_database)
    assert result.returncode == 0, result.stderr
    restored = await table_checksums(migrated_database)
    assert restored["users"][0] == manifest["tables"]["users"]["rows"]
    print(
        f"\nFIGURE backup under writes: {written} rows written meanwhile, snapshot holds "
        f"{manifest['tables']['users']['rows']}; restore verified"
    )
