"""``piccolo migrations forwards`` takes the deploy lock too, so it can run beside a deploy.

Piccolo's own ``forwards`` takes no lock: run beside ``piccolo db deploy`` (or another
``forwards``) both apply the same migration, one fails with ``DuplicateTableError`` and a
history row can be written twice. Installed when the ``db`` app is loaded (every ``piccolo``
command loads it through ``piccolo_conf``), this wraps Piccolo's ``run_forwards`` in the
deploy's advisory lock: a ``forwards`` waits for a running deploy (up to
``GATEWAYDB_DEPLOY_LOCK_TIMEOUT`` seconds) and then finds nothing left to do.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.apps.migrations.commands import forwards as piccolo_forwards

from apps.core.settings import get_settings
from apps.db.connection import dedicated_connection
from apps.db.deploy import DEPLOY_LOCK_KEY, lock_deploy
from apps.db.errors import DeployLockTimeoutError


def _locked(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(run)
    async def run_forwards(*args: Any, **kwargs: Any) -> Any:
        async with dedicated_connection() as connection:
            try:
                await lock_deploy(connection, wait=get_settings().deploy_lock_timeout)
            except DeployLockTimeoutError as error:
                raise SystemExit(f"error: migrations forwards: {error.message}") from None
            try:
                return await run(*args, **kwargs)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", DEPLOY_LOCK_KEY)

    setattr(run_forwards, "takes_deploy_lock", True)  # noqa: B010
    return run_forwards


def install_forwards_lock() -> None:
    """Make Piccolo's ``forwards`` command take the deploy lock (idempotent)."""
    current = piccolo_forwards.run_forwards
    if not getattr(current, "takes_deploy_lock", False):
        piccolo_forwards.run_forwards = _locked(current)  # type: ignore[assignment]
