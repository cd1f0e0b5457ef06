"""Concurrent writers on separate pooled connections against a committed database.

The autouse test transaction would put every query on one connection, so these tests run
on a fresh migrated database of their own, through an engine of their own, with the tables
pointed at it for the duration of the test.
"""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from apps.ads import selectors, services
from apps.ads.errors import InvalidCampaignTransitionError
from apps.ads.records import ConversionInput
from apps.ads.tables import (
    Campaign,
    CampaignStatus,
    Conversion,
    ConversionSource,
    Experiment,
    ExperimentStatus,
    PerformanceMetric,
)
from apps.core.engine import GatewayEngine, build_engine
from apps.core.settings import Settings
from apps.media.tables import Asset, Clip
from apps.users.tables import User
from tests.ads.factories import make_campaign

TABLES = [User, Asset, Clip, Campaign, Experiment, Conversion, PerformanceMetric]
WRITERS = 50


@pytest.fixture
async def committed_engine(migrated_database: str) -> AsyncIterator[GatewayEngine]:
    engine = build_engine(Settings(database_url=migrated_database, pool_max_size=WRITERS))
    await engine.start_connection_pool(min_size=WRITERS)
    saved = {table: table._meta._db for table in TABLES}
    for table in TABLES:
        table._meta.db = engine
    try:
        yield engine
    finally:
        for table, db in saved.items():
            table._meta._db = db
        await engine.close_connection_pool()


async def test_concurrent_add_totals_lose_no_update(committed_engine: GatewayEngine) -> None:
    # given a committed campaign
    campaign = await make_campaign()
    # when 50 tasks add to its totals at once, each on its own pooled connection
    await asyncio.gather(
        *(
            services.campaign_add_totals(
                campaign_id=campaign.id,
                spend=Decimal("0.01") * (i + 1),
                impressions=1000 + i,
                clicks=10,
                conversions=1,
            )
            for i in range(WRITERS)
        )
    )
    # then the totals are exact: sum(0.01 .. 0.50) = 12.75
    totals = await selectors.campaign_get(campaign_id=campaign.id)
    assert totals.total_spend == Decimal("12.75")
    assert totals.total_impressions == 1000 * WRITERS + sum(range(WRITERS))
    assert totals.total_clicks == 10 * WRITERS
    assert totals.total_conversions == WRITERS


async def test_concurrent_duplicate_deliveries_count_once(committed_engine: GatewayEngine) -> None:
    # given one campaign and a batch of 20 conversions, delivered 10 times concurrently,
    # each delivery in a different order and with one conversion of its own
    campaign = await make_campaign()
    shared = [
        ConversionInput(external_id=f"dup-{i:02d}", value=Decimal("9.99"), campaign_id=campaign.id)
        for i in range(20)
    ]
    deliveries = [
        [
            *shared[k:],
            *shared[:k],
            ConversionInput(external_id=f"own-{k}", value=Decimal(1), campaign_id=campaign.id),
        ]
        for k in range(10)
    ]
    # when
    results = await asyncio.gather(
        *(
            services.conversion_ingest_batch(source=ConversionSource.META, conversions=batch)
            for batch in deliveries
        )
    )
    # then each conversion is stored once and counted once
    assert sum(r.inserted for r in results) == 30
    assert await Conversion.count() == 30
    assert (await selectors.campaign_get(campaign_id=campaign.id)).total_conversions == 30


async def test_concurrent_experiment_records_add_up(committed_engine: GatewayEngine) -> None:
    campaign = await make_campaign()
    experiment = await services.experiment_create(
        campaign_id=campaign.id,
        name="Headline",
        variants=[{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
    )
    await services.experiment_transition(
        experiment_id=experiment.id, status=ExperimentStatus.RUNNING
    )
    # when 40 recordings hit both variants at once
    await asyncio.gather(
        *(
            services.experiment_record(
                experiment_id=experiment.id,
                variant_id="ab"[i % 2],
                impressions=100,
                clicks=3,
                conversions=1,
            )
            for i in range(40)
        )
    )
    # then no increment is lost
    variants = {
        v.id: v for v in (await selectors.experiment_get(experiment_id=experiment.id)).variants
    }
    for variant in variants.values():
        assert (variant.impressions, variant.clicks, variant.conversions) == (2000, 60, 20)


async def test_concurrent_transitions_apply_once(committed_engine: GatewayEngine) -> None:
    campaign = await make_campaign()
    await services.campaign_transition(campaign_id=campaign.id, status=CampaignStatus.ACTIVE)

    async def pause() -> str:
        try:
            await services.campaign_transition(
                campaign_id=campaign.id, status=CampaignStatus.PAUSED
            )
        except InvalidCampaignTransitionError:
            return "refused"
        return "applied"

    outcomes = await asyncio.gather(*(pause() for _ in range(10)))
    assert sorted(outcomes) == ["applied"] + ["refused"] * 9
