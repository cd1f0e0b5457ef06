"""``piccolo db seed``: the sample data of every app, through each app's ``seed.py``.

The steps run in dependency order inside one transaction: a failure leaves nothing half
seeded. Every sample row has a fixed id, so a second run creates nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from piccolo.table import Table

from apps.ads.seed import seed_ads
from apps.ads.tables import Campaign, Conversion, Experiment, PerformanceMetric
from apps.core import rawsql
from apps.core.seeding import SeedReport
from apps.db.connection import dedicated_connection, project_engine
from apps.db.errors import SchemaNotReadyError
from apps.knowledge.seed import seed_knowledge
from apps.knowledge.tables import KnowledgeDocument
from apps.media.seed import seed_media
from apps.media.tables import Asset, Clip, Prediction
from apps.users.seed import seed_users
from apps.users.tables import ApiKey, User

SEEDED_TABLES: list[type[Table]] = [
    User,
    ApiKey,
    Asset,
    Clip,
    Prediction,
    Campaign,
    Experiment,
    Conversion,
    PerformanceMetric,
    KnowledgeDocument,
]
SEED_STEPS: list[tuple[str, Callable[[], Awaitable[SeedReport]]]] = [
    ("users", seed_users),
    ("media", seed_media),
    ("ads", seed_ads),
    ("knowledge", seed_knowledge),
]


_FIRST_MISSING_TABLE = rawsql.statement(
    "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL LIMIT 1",
    owner=__name__,
)
_ANY_USER = rawsql.statement(f"SELECT EXISTS (SELECT FROM {User._meta.tablename})", owner=__name__)


async def _require_migrated_schema() -> None:
    async with dedicated_connection() as connection:
        missing = await connection.fetchval(
            _FIRST_MISSING_TABLE, [table._meta.tablename for table in SEEDED_TABLES]
        )
    if missing is not None:
        raise SchemaNotReadyError(
            f"table {missing} does not exist: run `piccolo db deploy` before seeding"
        )


async def database_is_empty() -> bool:
    """True when no user exists yet (a fresh or reset database)."""
    await _require_migrated_schema()
    async with dedicated_connection() as connection:
        return not await connection.fetchval(_ANY_USER)


async def database_seed(*, progress: Callable[[str], None] = lambda line: None) -> SeedReport:
    """Create whatever sample rows are missing; report rows per table and new API keys."""
    await _require_migrated_schema()
    report = SeedReport()
    async with project_engine().transaction():
        for app_name, step in SEED_STEPS:
            part = await step()
            created = sum(part.created.values())
            progress(f"{app_name:<10} {sum(part.rows.values()):>3} rows, {created} created")
            report.merge(part)
    return report
