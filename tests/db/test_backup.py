"""`piccolo db backup` / `restore`: an exact round trip; a bad file changes nothing."""

from __future__ import annotations

import asyncio
import subprocess
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.db.backup import server_major_version
from apps.db.errors import ClientToolError
from apps.db.manifest import DUMP_NAME
from apps.db.pgtools import find_client_tool
from tests.conftest import TEMPLATE_DATABASE, admin_execute, database_url
from tests.db.helpers import ADD_ADMIN_LOGIN, fetch, one_line_error, piccolo_db, table_checksums


@dataclass(frozen=True)
class Archive:
    path: Path
    checksums: dict[str, tuple[int, str]]


@pytest.fixture(scope="module")
async def seeded_archive(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Archive]:
    """A backup of a seeded database, and the checksums of its tables at backup time."""
    name = f"backup_source_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    url = database_url(name)
    try:
        assert piccolo_db("seed", url=url).returncode == 0
        await fetch(url, ADD_ADMIN_LOGIN)
        # the development database has it (apps.core.embedded); a backup leaves it out
        await fetch(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        path = tmp_path_factory.mktemp("backup") / "gateway.dump"
        result = piccolo_db("backup", str(path), url=url)
        assert result.returncode == 0, result.stderr
        yield Archive(path=path, checksums=await table_checksums(url))
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _put_other_data(url: str) -> None:
    await fetch(url, "INSERT INTO users (email, name) VALUES ('other@x.io', 'Other')")
    await fetch(url, "CREATE TABLE created_after_backup (id integer)")


async def test_restore_brings_back_exactly_what_every_table_held(
    migrated_database: str, seeded_archive: Archive
) -> None:
    # given a database holding other data than the backup
    await _put_other_data(migrated_database)
    assert seeded_archive.checksums["users"][0] == 3
    assert await table_checksums(migrated_database) != seeded_archive.checksums

    # when the backup is restored into it
    result = piccolo_db("restore", str(seeded_archive.path), "--yes", url=migrated_database)

    # then every table (domain, auth, migration history) holds exactly what it held at
    # backup time, and nothing else is left
    assert result.returncode == 0, result.stderr
    assert await table_checksums(migrated_database) == seeded_archive.checksums
    # and the database works: extension, migrations, no drift
    assert piccolo_db("doctor", url=migrated_database).returncode == 0


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncated", "is damaged: it is truncated or unreadable"),
        ("foreign", "is not a gatewaydb backup"),
        ("missing", "does not exist"),
    ],
)
async def test_a_damaged_archive_is_refused_and_the_database_is_left_as_it_was(
    migrated_database: str, seeded_archive: Archive, tmp_path: Path, damage: str, reason: str
) -> None:
    # given a damaged archive and a database with data of its own
    archive = tmp_path / "damaged.dump"
    data = seeded_archive.path.read_bytes()
    if damage == "truncated":
        archive.write_bytes(data[: len(data) - 10000])  # cut inside the padding or the data
    elif damage == "foreign":
        archive.write_text("-- a plain SQL dump, not a custom-format archive\nSELECT 1;\n")
    await _put_other_data(migrated_database)
    before = await table_checksums(migrated_database)

    # when it is restored
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)

    # then the command fails with one clear line naming the file, and nothing changed
    one_line_error(result, str(archive), reason)
    assert await table_checksums(migrated_database) == before


async def test_restore_without_a_terminal_needs_yes(
    migrated_database: str, seeded_archive: Archive
) -> None:
    # given a database with data of its own
    await _put_other_data(migrated_database)
    before = await table_checksums(migrated_database)

    # when a backup is restored from a script without --yes
    result = piccolo_db("restore", str(seeded_archive.path), url=migrated_database)

    # then it is refused and nothing changed
    one_line_error(result, "not a terminal", "--yes")
    assert await table_checksums(migrated_database) == before


async def test_a_restore_that_fails_half_way_is_rolled_back_entirely(
    migrated_database: str, tmp_path: Path
) -> None:
    # given an archive of this project's database that also creates a schema `extra`
    source_name = f"extra_source_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {source_name} TEMPLATE {TEMPLATE_DATABASE}")
    source = database_url(source_name)
    archive = tmp_path / "extra.dump"
    try:
        await fetch(source, "CREATE SCHEMA extra")
        await fetch(source, "CREATE TABLE extra.notes (id integer)")
        await fetch(source, "CREATE TABLE public.things (id integer)")
        assert piccolo_db("backup", str(archive), url=source).returncode == 0
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {source_name} WITH (FORCE)")
    # and a database where that schema already exists, so the replay fails after the
    # public schema was dropped
    await _put_other_data(migrated_database)
    await fetch(migrated_database, "CREATE SCHEMA extra")
    before = await table_checksums(migrated_database)

    # when the archive is restored
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)

    # then it fails naming the database error, and the public schema is untouched
    one_line_error(result, "restore failed and was rolled back", 'schema "extra" already exists')
    assert await table_checksums(migrated_database) == before
    things = await fetch(migrated_database, "SELECT to_regclass('public.things') AS t")
    assert things[0]["t"] is None


async def test_a_client_tool_of_another_major_version_is_not_used() -> None:
    # given the embedded tools are version 18
    assert find_client_tool("pg_dump", server_major=18).is_file()
    # when a server of version 16 asks for pg_dump
    with pytest.raises(ClientToolError) as raised:
        find_client_tool("pg_dump", server_major=16)
    # then the error names both versions and what to do
    assert "PostgreSQL 16" in raised.value.message
    assert "is version 18" in raised.value.message
    assert "GATEWAYDB_PG_BIN_DIR" in raised.value.message


async def test_backup_refuses_a_missing_folder_and_keeps_an_existing_file(
    tmp_path: Path, seeded_archive: Archive
) -> None:
    url = database_url(TEMPLATE_DATABASE)
    # given a folder that does not exist
    missing = tmp_path / "no" / "such" / "b.dump"
    result = piccolo_db("backup", str(missing), url=url)
    # then the backup names it and creates nothing
    assert result.returncode == 1
    assert one_line_error(result) == (
        f"error: path: the folder {missing.parent} does not exist (create it first)"
    )
    assert not (tmp_path / "no").exists()

    # given an existing file, without --force it is kept as it was
    existing = tmp_path / "b.dump"
    existing.write_text("keep me")
    result = piccolo_db("backup", str(existing), url=url)
    assert result.returncode == 1
    assert one_line_error(result) == f"error: path: {existing} exists; pass --force to overwrite it"
    assert existing.read_text() == "keep me"

    # with --force it is replaced by an owner-only archive
    result = piccolo_db("backup", str(existing), "--force", url=url)
    assert result.returncode == 0, result.stderr
    with tarfile.open(existing, "r:") as archive:
        assert archive.getnames() == ["manifest.json", "database.dump"]
    assert existing.stat().st_mode & 0o777 == 0o600


def test_a_new_backup_is_owner_only(seeded_archive: Archive) -> None:
    assert seeded_archive.path.stat().st_mode & 0o777 == 0o600


async def test_a_backup_leaves_out_server_instrumentation(
    seeded_archive: Archive, tmp_path: Path
) -> None:
    # given the backup of a database that has pg_stat_statements, when its pg_dump archive
    # is listed
    with tarfile.open(seeded_archive.path) as archive:
        member = archive.extractfile(DUMP_NAME)
        assert member is not None
        dump = tmp_path / DUMP_NAME
        dump.write_bytes(member.read())
    pg_restore = find_client_tool("pg_restore", server_major=await server_major_version())
    listed = await asyncio.to_thread(
        subprocess.run,
        [str(pg_restore), "--list", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    )
    listing = listed.stdout
    # then it holds the tables but not the extension: the archive restores on a server
    # without the module
    assert "TABLE public users" in listing
    assert "pg_stat_statements" not in listing
