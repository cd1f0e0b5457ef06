"""`piccolo db backup` / `restore`: an exact round trip; a bad file changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.db.errors import ClientToolError
from apps.db.pgtools import find_client_tool
from tests.db.helpers import fetch, one_line_error, piccolo_db, table_checksums


async def _seeded_backup(url: str, path: Path) -> dict[str, tuple[int, str]]:
    assert piccolo_db("seed", url=url).returncode == 0
    checksums = await table_checksums(url)
    result = piccolo_db("backup", str(path), url=url)
    assert result.returncode == 0, result.stderr
    return checksums


async def _change_everything(url: str) -> None:
    await fetch(url, "DELETE FROM conversions")
    await fetch(url, "UPDATE users SET name = name || ' (changed)'")
    await fetch(url, "CREATE TABLE created_after_backup (id integer)")


async def test_restore_brings_back_exactly_what_every_table_held(
    migrated_database: str, tmp_path: Path
) -> None:
    # given a backup of a seeded database, which then changes
    archive = tmp_path / "gateway.dump"
    at_backup = await _seeded_backup(migrated_database, archive)
    assert at_backup["users"][0] == 3
    await _change_everything(migrated_database)
    assert await table_checksums(migrated_database) != at_backup

    # when the backup is restored
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)

    # then every table (domain, auth, migration history) holds exactly what it held
    assert result.returncode == 0, result.stderr
    assert await table_checksums(migrated_database) == at_backup
    # and the database still works: vector codec, triggers, constraints
    assert piccolo_db("doctor", url=migrated_database).returncode == 0


@pytest.mark.parametrize("damage", ["truncated", "foreign", "missing"])
async def test_a_damaged_archive_is_refused_and_the_database_is_left_as_it_was(
    migrated_database: str, tmp_path: Path, damage: str
) -> None:
    # given a damaged archive and a database that changed since the backup
    archive = tmp_path / "gateway.dump"
    await _seeded_backup(migrated_database, archive)
    if damage == "truncated":
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) - 2000])  # cut inside the table data
    elif damage == "foreign":
        archive.write_text("-- a plain SQL dump, not a custom-format archive\nSELECT 1;\n")
    else:
        archive.unlink()
    await _change_everything(migrated_database)
    before = await table_checksums(migrated_database)

    # when it is restored
    result = piccolo_db("restore", str(archive), "--yes", url=migrated_database)

    # then the command fails with one clear line and nothing changed
    one_line_error(result, str(archive))
    assert await table_checksums(migrated_database) == before


async def test_restore_without_a_terminal_needs_yes(migrated_database: str, tmp_path: Path) -> None:
    # given an archive and a changed database
    archive = tmp_path / "gateway.dump"
    await _seeded_backup(migrated_database, archive)
    await _change_everything(migrated_database)
    before = await table_checksums(migrated_database)

    # when it is restored from a script without --yes
    result = piccolo_db("restore", str(archive), url=migrated_database)

    # then it is refused and nothing changed
    one_line_error(result, "not a terminal", "--yes")
    assert await table_checksums(migrated_database) == before


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
