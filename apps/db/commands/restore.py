from __future__ import annotations

from pathlib import Path

from apps.db.backup import RestoreSummary, archive_check, database_restore
from apps.db.cli import confirm, flag, run_command
from apps.db.connection import project_engine


def restore(path: str, yes: bool = False) -> None:
    """Replace the configured database with the backup at PATH (made by `piccolo db
    backup`). The file is checked against its manifest and this project's migrations first;
    the restored tables are verified against the manifest before the commit. All or
    nothing: a damaged file, a mismatch or a failed restore leaves the database as it was.

    :param path:
        The archive to restore.
    :param yes:
        Do not ask for confirmation (needed when not on a terminal).
    """
    run_command(archive_check(path=Path(path)))
    target = project_engine().url.redacted

    async def run() -> RestoreSummary:
        confirm(f"This replaces everything in {target} with {path}.", yes=flag(yes, "yes"))
        return await database_restore(path=Path(path))

    summary = run_command(run())
    print(
        f"restored {path} into {target} "
        f"({summary.tables} tables, {summary.rows} rows, verified against the manifest)"
    )
