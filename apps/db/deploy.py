"""``piccolo db deploy``: every pending migration, safe to run from several replicas at once.

Piccolo's ``migrations forwards`` takes no lock and records a migration in its history
table only after the migration's own transaction has committed. Here:

- a PostgreSQL session advisory lock, held on a dedicated connection for the whole deploy,
  serialises concurrent deploys; the others wait up to ``deploy_lock_timeout`` seconds, then
  find nothing left to do;
- each migration runs in one transaction together with the insert of its history row, so
  both commit or neither does;
- a failing migration is rolled back with its row; the deploy stops and names it.

A migration that opts out of the transaction (``wrap_in_transaction=False``, e.g. for
``CREATE INDEX CONCURRENTLY``) cannot be atomic with its row: it runs on its own and its
row is recorded right after, as Piccolo does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import MigrationModule

from apps.core.errors import GatewayError
from apps.db.connection import dedicated_connection, project_engine
from apps.db.errors import DeployLockTimeoutError, MigrationFailedError
from apps.db.indexes import invalid_index_advice, invalid_indexes

# pg_advisory_lock key shared by every deploy of this project ("gatewayd" in ASCII).
DEPLOY_LOCK_KEY = 0x6761746577617964


@dataclass(frozen=True)
class PendingMigration:
    """A migration file whose id is not in the history table yet."""

    app_name: str
    migration_id: str
    module: MigrationModule

    @property
    def label(self) -> str:
        return f"{self.app_name}:{self.migration_id}"


async def pending_migrations() -> list[PendingMigration]:
    """Migrations not yet applied, apps in dependency order, ids in order within an app."""
    finder = BaseMigrationManager()
    await finder.create_migration_table()
    pending: list[PendingMigration] = []
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name=app_name)
        applied = set(await Migration.get_migrations_which_ran(app_name=app_name))
        modules = finder.get_migration_modules(app_config.resolved_migrations_folder_path)
        pending.extend(
            PendingMigration(app_name=app_name, migration_id=name, module=modules[name])
            for name in sorted(set(modules) - applied)
        )
    return pending


async def _apply(migration: PendingMigration, *, statement_lock_timeout: float) -> None:
    engine = project_engine()
    record = Migration.insert(Migration(name=migration.migration_id, app_name=migration.app_name))
    manager = await migration.module.forwards()
    runs = isinstance(manager, MigrationManager) and not manager.fake
    quiet = contextlib.redirect_stdout(io.StringIO())  # Piccolo prints half lines
    if isinstance(manager, MigrationManager) and not manager.wrap_in_transaction:
        # e.g. CREATE INDEX CONCURRENTLY, which cannot run inside a transaction.
        if runs:
            try:
                with quiet:
                    await manager.run()
            except Exception as error:
                raise MigrationFailedError(
                    f"migration {migration.label} failed and was NOT rolled back (it runs "
                    "outside a transaction, so part of it may be applied; it is not "
                    f"recorded: run `piccolo db deploy` again): {_reason(error)}"
                ) from error
        await record
        return
    async with engine.transaction():
        # A DDL statement queued behind a long query blocks every query queued behind it:
        # bound the wait so the deploy fails (and can be retried) instead.
        await engine.run_ddl(f"SET LOCAL lock_timeout = {int(statement_lock_timeout * 1000)}")
        if runs:
            assert isinstance(manager, MigrationManager)
            with quiet:
                await manager.run()
        await record


LOCK_POLL_SECONDS = 0.2


def _reason(error: Exception) -> str:
    if isinstance(error, GatewayError):
        return error.message
    return f"{type(error).__name__}: {str(error).strip() or 'no message'}"


async def lock_deploy(connection: asyncpg.Connection, *, wait: float) -> None:
    # Poll pg_try_advisory_lock rather than block in pg_advisory_lock: a session blocked in
    # a statement holds a snapshot, and CREATE INDEX CONCURRENTLY (run by the deploy that
    # holds the lock) waits for every older snapshot to go away, so blocked deploys and
    # the running one would wait on each other for ever. wait = 0 means no limit.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait if wait else None
    while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", DEPLOY_LOCK_KEY):
        if deadline is not None and loop.time() >= deadline:
            raise DeployLockTimeoutError(
                f"another deploy held the migration lock for more than {wait:g} s; "
                "try again, or raise GATEWAYDB_DEPLOY_LOCK_TIMEOUT"
            )
        await asyncio.sleep(LOCK_POLL_SECONDS)


async def database_deploy(
    *,
    lock_timeout: float,
    statement_lock_timeout: float = 10.0,
    progress: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Apply every pending migration under the deploy lock; return their labels.

    Raises :class:`DeployLockTimeoutError` when the lock is not granted within
    ``lock_timeout`` seconds, :class:`MigrationFailedError` naming the migration and the
    database error when one fails (it and its history row are rolled back), or when an
    invalid index (an interrupted concurrent build) is left in the schema.
    """
    applied: list[str] = []
    async with dedicated_connection() as lock_connection:
        progress("waiting for the deploy lock...")
        await lock_deploy(lock_connection, wait=lock_timeout)
        try:
            pending = await pending_migrations()
            progress(f"{len(pending)} pending migration(s)")
            for migration in pending:
                try:
                    await _apply(migration, statement_lock_timeout=statement_lock_timeout)
                except MigrationFailedError:
                    raise
                except Exception as error:  # a migration can raise anything
                    raise MigrationFailedError(
                        f"migration {migration.label} failed and was rolled back: {_reason(error)}"
                    ) from error
                applied.append(migration.label)
                progress(f"applied {migration.label}")
            invalid = await invalid_indexes(lock_connection)
            if invalid:
                raise MigrationFailedError(invalid_index_advice(invalid))
        finally:
            await lock_connection.execute("SELECT pg_advisory_unlock($1)", DEPLOY_LOCK_KEY)
    return applied
