"""``piccolo db backup`` and ``restore``: a pg_dump custom-format archive of the database.

Restore replaces the whole ``public`` schema and is all or nothing: the archive is first
read in full (a truncated or foreign file fails here and nothing is touched), then the
schema is dropped and the archive's SQL is replayed by psql in ONE transaction, so any
error rolls everything back and the database stays as it was.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from pathlib import Path

from apps.core.settings import get_settings
from apps.db.connection import dedicated_connection, project_engine
from apps.db.errors import ArchiveError, BackupFailedError, BackupPathError
from apps.db.manifest import verify_table_of_contents
from apps.db.pgtools import find_client_tool, libpq_target


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


def _dump(pg_dump: Path, *, dsn: str, env: dict[str, str], path: Path) -> int:
    partial = path.with_name(path.name + ".partial")
    # The archive holds password and key hashes: owner-only from its first byte.
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    result = _run(
        [str(pg_dump), "--format=custom", f"--file={partial}", f"--dbname={dsn}"], env=env
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupFailedError(f"pg_dump failed: {_last_error(result.stderr)}")
    # The archive appears under its name only once it is complete.
    partial.chmod(0o600)
    partial.replace(path)
    return path.stat().st_size


async def database_backup(*, path: Path, force: bool = False) -> int:
    """Write a custom-format archive of the whole database to ``path``; return its size.

    The folder must exist, an existing file is replaced only with ``force``, and the archive
    is readable by its owner only (0600).
    """
    path = backup_target(path, force=force)
    pg_dump = find_client_tool(
        "pg_dump", server_major=await server_major_version(), bin_dir=get_settings().pg_bin_dir
    )
    dsn, env = libpq_target(project_engine().url)
    return await asyncio.to_thread(_dump, pg_dump, dsn=dsn, env=env, path=path)


def _check_archive(pg_restore: Path, path: Path, script: Path) -> None:
    """Read the archive in full into ``script``; raise ArchiveError when it is unreadable."""
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist or is not a file")
    listing = _run([str(pg_restore), "--list", str(path)], env={})
    if listing.returncode != 0:
        raise ArchiveError(
            f"{path} is not a pg_dump custom-format archive: {_last_error(listing.stderr)}"
        )
    verify_table_of_contents(listing.stdout, path=path)
    converted = _run(
        [str(pg_restore), "--no-owner", "--no-privileges", f"--file={script}", str(path)],
        env={},
    )
    if converted.returncode != 0:
        raise ArchiveError(
            f"{path} is damaged or truncated: {_last_error(converted.stderr)}; nothing was restored"
        )


def _validate(pg_restore: Path, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="gatewaydb-restore-") as folder:
        _check_archive(pg_restore, path.expanduser().resolve(), Path(folder) / "restore.sql")


async def archive_check(*, path: Path) -> None:
    """Raise :class:`ArchiveError` unless ``path`` is a complete, readable archive."""
    major = await server_major_version()
    bin_dir = get_settings().pg_bin_dir
    pg_restore = find_client_tool("pg_restore", server_major=major, bin_dir=bin_dir)
    await asyncio.to_thread(_validate, pg_restore, path)


def _restore(pg_restore: Path, psql: Path, *, dsn: str, env: dict[str, str], path: Path) -> None:
    # A private folder: the SQL script holds the data in clear for a moment.
    with tempfile.TemporaryDirectory(prefix="gatewaydb-restore-") as folder:
        script = Path(folder) / "restore.sql"
        _check_archive(pg_restore, path.expanduser().resolve(), script)
        result = _run(
            [
                str(psql),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={dsn}",
                "--command=DROP SCHEMA IF EXISTS public CASCADE",
                "--command=CREATE SCHEMA public",
                "--command=GRANT USAGE ON SCHEMA public TO PUBLIC",
                f"--file={script}",
            ],
            env=env,
        )
    if result.returncode != 0:
        raise BackupFailedError(
            "restore failed and was rolled back, the database is unchanged: "
            f"{_last_error(result.stderr)}"
        )


async def database_restore(*, path: Path) -> None:
    """Replace the database's ``public`` schema with the archive at ``path``, atomically."""
    major = await server_major_version()
    bin_dir = get_settings().pg_bin_dir
    pg_restore = find_client_tool("pg_restore", server_major=major, bin_dir=bin_dir)
    psql = find_client_tool("psql", server_major=major, bin_dir=bin_dir)
    dsn, env = libpq_target(project_engine().url)
    await asyncio.to_thread(_restore, pg_restore, psql, dsn=dsn, env=env, path=path)
