from __future__ import annotations

from pathlib import Path

from apps.db.backup import database_backup
from apps.db.cli import flag, run_command


def backup(path: str, force: bool = False) -> None:
    """Write a pg_dump custom-format archive of the whole database to PATH.

    :param path:
        The archive to write, owner-only (0600); its folder must exist.
    :param force:
        Replace PATH if it exists (it is kept otherwise).
    """
    size = run_command(database_backup(path=Path(path), force=flag(force, "force")))
    print(f"backup written to {path} ({size} bytes)")
