"""``piccolo db reset``: drop everything, migrate from scratch, seed again.

Everything means the ``public`` schema with all it holds: domain and plugin tables (users,
sessions), the migration history, the pgvector extension. The migrations re-create them.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.core.settings import Settings
from apps.db.connection import dedicated_connection, on_migration_role, project_engine
from apps.db.deploy import database_deploy
from apps.db.errors import CommandRefusedError
from apps.db.roles import KEEPS_EXTENSIONS_SQL, SCHEMA_CLEAR_SQL
from apps.db.seed import database_seed


def refuse_in_production(settings: Settings, *, command: str) -> None:
    """Raise CommandRefusedError in production, whatever the flags."""
    if settings.is_production:
        raise CommandRefusedError(
            f"`piccolo db {command}` is refused in production (GATEWAYDB_ENVIRONMENT=production)"
        )


@on_migration_role
async def schema_drop() -> None:
    """Drop the ``public`` schema and everything in it, and create it again, empty."""
    async with dedicated_connection() as connection, connection.transaction():
        if await connection.fetchval(KEEPS_EXTENSIONS_SQL):
            # The migration role (no superuser) could not create pgvector again.
            await connection.execute(SCHEMA_CLEAR_SQL)
            return
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        await connection.execute("CREATE SCHEMA public")
        # As PostgreSQL creates it: every role may look inside (not create).
        await connection.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")


@on_migration_role
async def database_reset(
    *,
    settings: Settings,
    seed: bool,
    progress: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Drop, migrate, seed (unless ``seed`` is False); return the lines to print once."""
    refuse_in_production(settings, command="reset")
    progress(f"dropping everything in {project_engine().url.redacted}")
    await schema_drop()
    await database_deploy(
        lock_timeout=settings.deploy_lock_timeout,
        statement_lock_timeout=settings.migration_lock_timeout,
        progress=progress,
    )
    if not seed:
        return []
    report = await database_seed(progress=progress)
    return report.secrets
