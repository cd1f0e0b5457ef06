from __future__ import annotations

from pathlib import Path

from apps.db.backup import archive_check, database_restore
from apps.db.cli import confirm, flag, run_command
from apps.db.connection import project_engine


def restore(path: str, yes: bool = False) -> None:
    """Replace the configured database with the archive at PATH (made by `piccolo db
    backup`). All or nothing: a damaged file or a failed restore leaves it as it was.

    :param path:
        The archive to restore.
    :param yes:
        Do not ask for confirmation (needed when not on a terminal).
    """
    run_command(archive_check(path=Path(path)))
    target = project_engine().url.redacted

    async def run() -> None:
        confirm(f"This replaces everything in {target} with {path}.", yes=flag(yes, "yes"))
        await database_restore(path=Path(path))

    run_command(run())
    print(f"restored {path} into {target}")
