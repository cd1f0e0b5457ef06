from __future__ import annotations

from pathlib import Path

from apps.db.backup import database_backup
from apps.db.cli import flag, run_command


def backup(path: str, force: bool = False) -> None:
    """Write a backup of the whole database to PATH: one tar file holding a pg_dump
    custom-format archive and its manifest (applied migrations, per-table row counts and
    checksums, the archive's sha256), all taken from one snapshot.

    :param path:
        The backup to write, owner-only (0600); its folder must exist.
    :param force:
        Replace PATH if it exists (it is kept otherwise).
    """
    summary = run_command(database_backup(path=Path(path), force=flag(force, "force")))
    print(
        f"backup written to {path} ({summary.size} bytes; "
        f"{summary.tables} tables, {summary.rows} rows)"
    )
