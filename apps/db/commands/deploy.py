from __future__ import annotations

from apps.core.settings import get_settings
from apps.db.cli import run_command
from apps.db.commands.partitions import ensure_all_partitions
from apps.db.deploy import database_deploy


def deploy(lock_timeout: float | None = None) -> None:
    """Apply every pending migration, safely: one deploy at a time (an advisory lock), each
    migration committed together with its history row; then create the missing monthly
    partitions (as `piccolo db partitions` does). Use this to deploy.

    :param lock_timeout:
        Seconds to wait for another running deploy (default: GATEWAYDB_DEPLOY_LOCK_TIMEOUT).
    """
    settings = get_settings()
    timeout = settings.deploy_lock_timeout if lock_timeout is None else lock_timeout
    applied = run_command(
        database_deploy(
            lock_timeout=timeout,
            statement_lock_timeout=settings.migration_lock_timeout,
            # Flushed line by line: a deploy killed mid-way still shows what it applied.
            progress=lambda line: print(line, flush=True),
        )
    )
    print(f"deployed: {len(applied)} migration(s) applied" if applied else "up to date")
    # The coming months' partitions of the history tables (what `piccolo db partitions` does).
    for name in run_command(ensure_all_partitions()):
        print(f"created {name}")
