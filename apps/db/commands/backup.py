from __future__ import annotations

from pathlib import Path

from apps.db.backup import database_backup
from apps.db.cli import run_command


def backup(path: str) -> None:
    """Write a pg_dump custom-format archive of the whole database to PATH.

    :param path:
        The archive to write (replaced if it exists; written only when complete).
    """
    size = run_command(database_backup(path=Path(path)))
    print(f"backup written to {path} ({size} bytes)")
