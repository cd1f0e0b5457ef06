"""``piccolo db seed``: the sample data of every app, through each app's ``seed.py``.

The steps run in dependency order inside one transaction: a failure leaves nothing half
seeded. Every sample row has a fixed id, so a second run creates nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apps.ads.seed import seed_ads
from apps.core.seeding import SeedReport
from apps.db.connection import dedicated_connection, project_engine
from apps.knowledge.seed import seed_knowledge
from apps.media.seed import seed_media
from apps.users.seed import seed_users

SEED_STEPS: list[tuple[str, Callable[[], Awaitable[SeedReport]]]] = [
    ("users", seed_users),
    ("media", seed_media),
    ("ads", seed_ads),
    ("knowledge", seed_knowledge),
]


async def database_is_empty() -> bool:
    """True when no user exists yet (a fresh or reset database)."""
    async with dedicated_connection() as connection:
        return not await connection.fetchval("SELECT EXISTS (SELECT FROM users)")


async def database_seed(*, progress: Callable[[str], None] = lambda line: None) -> SeedReport:
    """Create whatever sample rows are missing; report rows per table and new API keys."""
    report = SeedReport()
    async with project_engine().transaction():
        for app_name, step in SEED_STEPS:
            part = await step()
            created = sum(part.created.values())
            progress(f"{app_name:<10} {sum(part.rows.values()):>3} rows, {created} created")
            report.merge(part)
    return report
