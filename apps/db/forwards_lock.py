"""``piccolo migrations forwards`` takes the deploy lock too, so it can run beside a deploy.

Piccolo's own ``forwards`` takes no lock: run beside ``piccolo db deploy`` (or another
``forwards``) both apply the same migration, one fails with ``DuplicateTableError`` and a
history row can be written twice. Installed when the ``db`` app is loaded (every ``piccolo``
command loads it through ``piccolo_conf``), this wraps Piccolo's ``run_forwards`` in the
deploy's advisory lock: a ``forwards`` waits for a running deploy (up to
``GATEWAYDB_DEPLOY_LOCK_TIMEOUT`` seconds) and then finds nothing left to do.

Piccolo also creates its ``migration`` table outside any lock, by "check, then CREATE
TABLE", and every ``piccolo`` command does so at start-up (its pending-migrations warning).
Two commands started together on an empty database could both find no table, and the
slower CREATE failed (``duplicate key ... pg_type``), failing a deploy that held the lock.
The creation is made tolerant of losing that race: the other process created the table.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from piccolo.apps.migrations.commands import forwards as piccolo_forwards
from piccolo.apps.migrations.commands.base import BaseMigrationManager

from apps.core.settings import get_settings
from apps.db.connection import as_migration_role, dedicated_connection
from apps.db.deploy import DEPLOY_LOCK_KEY, lock_deploy
from apps.db.errors import DeployLockTimeoutError
from apps.db.roles import protected_tables_restrict


def _locked(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(run)
    async def run_forwards(*args: Any, **kwargs: Any) -> Any:
        with as_migration_role():  # the schema changes as the migration role
            async with dedicated_connection() as connection:
                try:
                    await lock_deploy(connection, wait=get_settings().deploy_lock_timeout)
                except DeployLockTimeoutError as error:
                    raise SystemExit(f"error: migrations forwards: {error.message}") from None
                try:
                    result = await run(*args, **kwargs)
                    await protected_tables_restrict(connection)
                    return result
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1)", DEPLOY_LOCK_KEY)

    setattr(run_forwards, "takes_deploy_lock", True)  # noqa: B010
    return run_forwards


# What CREATE TABLE raises when another session created the same table first: the
# catalog's unique index on type names (a race past IF NOT EXISTS too), or the table itself.
_LOST_CREATE_RACE = (
    asyncpg.exceptions.UniqueViolationError,
    asyncpg.exceptions.DuplicateTableError,
)


def _race_tolerant(
    create: Callable[[BaseMigrationManager], Awaitable[bool]],
) -> Callable[[BaseMigrationManager], Awaitable[bool]]:
    @functools.wraps(create)
    async def create_migration_table(self: BaseMigrationManager) -> bool:
        try:
            return await create(self)
        except _LOST_CREATE_RACE:
            return False  # another command created it between the check and the CREATE

    setattr(create_migration_table, "tolerates_races", True)  # noqa: B010
    return create_migration_table


def install_forwards_lock() -> None:
    """Make Piccolo's ``forwards`` take the deploy lock, and its creation of the migration
    table tolerate a concurrent command's (idempotent)."""
    current = piccolo_forwards.run_forwards
    if not getattr(current, "takes_deploy_lock", False):
        piccolo_forwards.run_forwards = _locked(current)  # type: ignore[assignment]
    create = BaseMigrationManager.create_migration_table
    if not getattr(create, "tolerates_races", False):
        BaseMigrationManager.create_migration_table = _race_tolerant(create)  # type: ignore[method-assign,assignment]
