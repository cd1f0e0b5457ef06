"""``piccolo db backup`` and ``restore``: one file holding a pg_dump archive and its manifest.

Backup opens a REPEATABLE READ, READ ONLY transaction, exports its snapshot, runs pg_dump
on that snapshot (``--snapshot``) and, in the same snapshot, counts and checksums every
table of ``public`` and reads the migration history. The dump and the manifest (see
:mod:`apps.db.manifest`) go into one tar file, owner-only, that appears under its name only
once complete.

Restore checks everything it can before it touches the database: the file is a backup, its
manifest is intact, the dump matches the manifest's sha256 (one flipped bit anywhere is
refused), the dump's table of contents holds every table of this project and exactly the
manifest's tables, and every migration it records is one of this project's. Then, in ONE
transaction, it drops and recreates ``public``, replays the dump, and verifies every table's
row count and checksum against the manifest; only when all match does it commit. Any error
or mismatch rolls the transaction back: the old database stays in place, as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from apps.core.settings import get_settings
from apps.db.connection import dedicated_connection, on_migration_role, project_engine
from apps.db.errors import (
    ArchiveError,
    BackupFailedError,
    BackupPathError,
    RestorePrivilegeError,
    RestoreVerificationError,
)
from apps.db.manifest import (
    CHECKSUM_SETTINGS,
    DUMP_NAME,
    FORMAT,
    FORMAT_VERSION,
    checksum_query,
    pack,
    seal,
    unpack,
    verification_sql,
    verify_against_listing,
    verify_migrations,
    verify_table_of_contents,
)
from apps.db.pgtools import find_client_tool, libpq_target
from apps.db.roles import KEEPS_EXTENSIONS_SQL, PROTECTED_TABLES_SQL, SCHEMA_CLEAR_SQL


async def server_major_version() -> int:
    """The major version of the configured server (e.g. 18)."""
    async with dedicated_connection() as connection:
        number = int(await connection.fetchval("SHOW server_version_num"))
    return number // 10000


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no message"])[0]


def _run(arguments: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def backup_target(path: Path, *, force: bool) -> Path:
    """``path`` resolved, after the rules: its folder exists; an existing file needs force."""
    path = path.expanduser()
    if not path.parent.resolve().is_dir():
        raise BackupPathError(
            f"path: the folder {path.parent} does not exist (create it first)",
            field="path",
            rule="folder_exists",
        )
    path = path.resolve()
    if path.is_dir():
        raise BackupPathError(f"path: {path} is a folder, not a file", field="path", rule="file")
    if path.exists() and not force:
        raise BackupPathError(
            f"path: {path} exists; pass --force to overwrite it", field="path", rule="no_overwrite"
        )
    return path


@dataclass(frozen=True)
class BackupSummary:
    """What ``piccolo db backup`` wrote: the file's size and what its manifest records."""

    path: Path
    size: int
    tables: int
    rows: int


@dataclass(frozen=True)
class RestoreSummary:
    """What ``piccolo db restore`` put in place, verified table by table."""

    tables: int
    rows: int


async def _snapshot_facts(connection: asyncpg.Connection) -> dict[str, Any]:
    """Migrations and per-table row counts and checksums, in the current transaction."""
    for statement in CHECKSUM_SETTINGS:
        await connection.execute(statement)
    names = [
        row["tablename"]
        for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    tables: dict[str, dict[str, Any]] = {}
    for name in names:
        row = await connection.fetchrow(checksum_query(name))
        assert row is not None
        tables[name] = {"rows": int(row[0]), "md5": str(row[1])}
    migrations: dict[str, list[str]] = {}
    if "migration" in tables:
        for row in await connection.fetch(
            "SELECT app_name, name FROM public.migration ORDER BY app_name, name"
        ):
            migrations.setdefault(row["app_name"], []).append(row["name"])
    return {
        "created_at": (await connection.fetchval("SELECT now()")).isoformat(),
        "server_version": int(await connection.fetchval("SHOW server_version_num")),
        "migrations": migrations,
        "tables": tables,
    }


# Server instrumentation, not data: a backup of a database that has it must restore on a
# server that lacks the module (pg_dump 17 and later can leave an extension out).
_LEFT_OUT_EXTENSIONS = ("pg_stat_statements",)


def _pg_dump(
    pg_dump: Path, *, dsn: str, env: dict[str, str], snapshot: str, dump: Path, major: int
) -> None:
    left_out = [f"--exclude-extension={name}" for name in _LEFT_OUT_EXTENSIONS if major >= 17]
    result = _run(
        [
            str(pg_dump),
            "--format=custom",
            f"--snapshot={snapshot}",
            *left_out,
            f"--file={dump}",
            f"--dbname={dsn}",
        ],
        env=env,
    )
    if result.returncode != 0:
        raise BackupFailedError(f"pg_dump failed: {_last_error(result.stderr)}")


async def _dump_in_one_snapshot(
    connection: asyncpg.Connection,
    pg_dump: Path,
    *,
    dsn: str,
    env: dict[str, str],
    dump: Path,
    major: int,
) -> dict[str, Any]:
    """Run pg_dump on this connection's snapshot, and read the manifest's facts in it."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
        # The exporting transaction stays open until pg_dump has finished.
        await asyncio.to_thread(
            _pg_dump, pg_dump, dsn=dsn, env=env, snapshot=snapshot, dump=dump, major=major
        )
        return await _snapshot_facts(connection)


def _write_backup(dump: Path, body: dict[str, Any], path: Path) -> int:
    digest = hashlib.sha256()
    with dump.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    body = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        **body,
        "dump": {"bytes": dump.stat().st_size, "sha256": digest.hexdigest()},
    }
    partial = path.with_name(path.name + ".partial")
    # The file holds password and key hashes: owner-only from its first byte.
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        pack(dump=dump, manifest=seal(body), target=partial)
        partial.chmod(0o600)
        # The backup appears under its name only once it is complete.
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path.stat().st_size


async def database_backup(*, path: Path, force: bool = False) -> BackupSummary:
    """Write a backup of the whole database (pg_dump archive + manifest) to ``path``.

    The folder must exist, an existing file is replaced only with ``force``, and the file is
    readable by its owner only (0600).
    """
    path = backup_target(path, force=force)
    major = await server_major_version()
    pg_dump = find_client_tool("pg_dump", server_major=major, bin_dir=get_settings().pg_bin_dir)
    dsn, env = libpq_target(project_engine().url)
    # A private folder: the dump holds the data in clear until it is packed.
    with tempfile.TemporaryDirectory(prefix="gatewaydb-backup-") as folder:
        dump = Path(folder) / DUMP_NAME
        async with dedicated_connection() as connection:
            body = await _dump_in_one_snapshot(
                connection, pg_dump, dsn=dsn, env=env, dump=dump, major=major
            )
        size = await asyncio.to_thread(_write_backup, dump, body, path)
    return BackupSummary(
        path=path,
        size=size,
        tables=len(body["tables"]),
        rows=sum(entry["rows"] for entry in body["tables"].values()),
    )


def _check_archive(pg_restore: Path, path: Path, folder: Path) -> tuple[dict[str, Any], Path]:
    """(manifest, extracted dump) once every check that needs no database has passed."""
    manifest, dump = unpack(path, folder=folder)
    listing = _run([str(pg_restore), "--list", str(dump)], env={})
    if listing.returncode != 0:
        raise ArchiveError(
            f"{path} holds no readable pg_dump archive: {_last_error(listing.stderr)}; "
            "nothing was restored"
        )
    verify_table_of_contents(listing.stdout, path=path)
    verify_against_listing(manifest, listing.stdout, path=path)
    verify_migrations(manifest, path=path)
    return manifest, dump


def _validate(pg_restore: Path, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="gatewaydb-restore-") as folder:
        _check_archive(pg_restore, path.expanduser().resolve(), Path(folder))


@on_migration_role
async def archive_check(*, path: Path) -> None:
    """Raise :class:`ArchiveError` unless ``path`` is an intact backup of this project."""
    major = await server_major_version()
    bin_dir = get_settings().pg_bin_dir
    pg_restore = find_client_tool("pg_restore", server_major=major, bin_dir=bin_dir)
    await asyncio.to_thread(_validate, pg_restore, path)


async def check_restore_privileges() -> None:
    """Raise RestorePrivilegeError unless this role may replace the ``public`` schema."""
    async with dedicated_connection() as connection:
        row = await connection.fetchrow(
            "SELECT current_user AS role, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, "
            "pg_has_role(current_user, n.nspowner, 'USAGE') AS owns_schema, "
            "has_database_privilege(current_database(), 'CREATE') AS can_create "
            "FROM pg_namespace AS n WHERE n.nspname = 'public'"
        )
    if row is None or row["superuser"]:
        return
    if not (row["owns_schema"] and row["can_create"]):
        raise RestorePrivilegeError(
            f"role {row['role']} may not replace schema public (it must own it and have "
            "CREATE on the database); run the restore with the migration role's URL; "
            "nothing was restored"
        )


def _restore(
    pg_restore: Path,
    psql: Path,
    *,
    dsn: str,
    env: dict[str, str],
    path: Path,
    keep_extensions: bool = False,
) -> RestoreSummary:
    # A private folder: the dump and the SQL script hold the data in clear for a moment.
    with tempfile.TemporaryDirectory(prefix="gatewaydb-restore-") as name:
        folder = Path(name)
        manifest, dump = _check_archive(pg_restore, path.expanduser().resolve(), folder)
        script = folder / "restore.sql"
        converted = _run(
            [
                str(pg_restore),
                "--no-owner",
                "--no-privileges",
                # COMMENT ON EXTENSION needs the extension's owner (a superuser)
                *(["--no-comments"] if keep_extensions else []),
                f"--file={script}",
                str(dump),
            ],
            env={},
        )
        if converted.returncode != 0:
            raise ArchiveError(
                f"{path} is damaged: {_last_error(converted.stderr)}; nothing was restored"
            )
        verify = folder / "verify.sql"
        verify.write_text(verification_sql(manifest))
        # A migration role that is not a superuser could not create pgvector again: it
        # clears the schema but keeps the extension (apps/db/roles.py).
        clear = (
            [f"--command={SCHEMA_CLEAR_SQL}"]
            if keep_extensions
            else [
                "--command=DROP SCHEMA IF EXISTS public CASCADE",
                "--command=CREATE SCHEMA public",
                "--command=GRANT USAGE ON SCHEMA public TO PUBLIC",
            ]
        )
        result = _run(
            [
                str(psql),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={dsn}",
                *clear,
                f"--file={script}",
                f"--file={verify}",
                f"--command={PROTECTED_TABLES_SQL}",  # least privilege (apps/db/roles.py)
            ],
            env=env,
        )
    if result.returncode != 0:
        message = _last_error(result.stderr)
        if "verification failed" in message:
            raise RestoreVerificationError(
                "restore was rolled back, the database is unchanged: the restored data does "
                f"not match the backup's manifest ({message.split('verification failed: ')[-1]})"
            )
        raise BackupFailedError(
            f"restore failed and was rolled back, the database is unchanged: {message}"
        )
    tables = manifest["tables"]
    return RestoreSummary(tables=len(tables), rows=sum(entry["rows"] for entry in tables.values()))


@on_migration_role
async def database_restore(*, path: Path) -> RestoreSummary:
    """Replace the ``public`` schema with the backup at ``path``, verified, atomically."""
    major = await server_major_version()
    bin_dir = get_settings().pg_bin_dir
    pg_restore = find_client_tool("pg_restore", server_major=major, bin_dir=bin_dir)
    psql = find_client_tool("psql", server_major=major, bin_dir=bin_dir)
    await check_restore_privileges()
    dsn, env = libpq_target(project_engine().url)
    async with dedicated_connection() as connection:
        keep_extensions = bool(await connection.fetchval(KEEPS_EXTENSIONS_SQL))
    return await asyncio.to_thread(
        _restore, pg_restore, psql, dsn=dsn, env=env, path=path, keep_extensions=keep_extensions
    )
