"""Sample campaigns, experiment, conversions and daily metrics (docs/data-model.md), as data.

Dates are relative to the day the seed runs ("the last week"); the rows keep their fixed
ids, so a later run finds them and adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from apps.ads.errors import CampaignNotFoundError, ExperimentNotFoundError
from apps.ads.records import ConversionInput
from apps.ads.selectors import campaign_get, experiment_get, performance_metric_list
from apps.ads.services import (
    campaign_add_totals,
    campaign_create,
    campaign_transition,
    conversion_ingest_batch,
    experiment_create,
    experiment_record,
    experiment_transition,
    performance_metric_upsert,
)
from apps.ads.tables import CampaignStatus, ConversionSource, ExperimentStatus, Objective
from apps.core.errors import NotFoundError
from apps.core.seeding import SeedReport, seed_id
from apps.media.seed import ASSETS, asset_id, clip_id
from apps.users.seed import DEMO_EMAIL, ENTERPRISE_EMAIL, user_id

DEMO_CAMPAIGN = "Summer Sale Conversions"
ENTERPRISE_CAMPAIGN = "Brand Awareness Q4"
METRIC_DAYS = 7
CONVERSIONS = 10


def campaign_id(name: str) -> Any:
    return seed_id("campaigns", name)


def _today() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _campaign_rows(today: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": campaign_id(DEMO_CAMPAIGN),
            "user": user_id(DEMO_EMAIL),
            "name": DEMO_CAMPAIGN,
            "description": "Conversion campaign for the summer sale, best clips only.",
            "objective": Objective.CONVERSIONS,
            "budget": Decimal("5000.00"),
            "daily_budget": Decimal("250.00"),
            "currency": "USD",
            "status": CampaignStatus.ACTIVE,
            "meta_campaign_id": "seed-meta-campaign-0001",
            "meta_ad_set_id": "seed-meta-adset-0001",
            "meta_account_id": "act_seed_0001",
            "target_audience": {"interests": ["fashion", "shopping"], "gender": "all"},
            "target_locations": ["US", "CA", "UK", "AU"],
            "target_age_range": {"min": 25, "max": 45},
            "start_date": today - dt.timedelta(days=14),
            "end_date": today + dt.timedelta(days=16),
            "total_spend": Decimal("1842.50"),
            "total_impressions": 125_000,
            "total_clicks": 3_750,
            "total_conversions": 177,  # + the CONVERSIONS ingested below = 187
        },
        {
            "id": campaign_id(ENTERPRISE_CAMPAIGN),
            "user": user_id(ENTERPRISE_EMAIL),
            "name": ENTERPRISE_CAMPAIGN,
            "description": "Quarterly brand awareness push across all markets.",
            "objective": Objective.AWARENESS,
            "budget": Decimal("10000.00"),
            "daily_budget": Decimal("400.00"),
            "currency": "USD",
            "status": CampaignStatus.ACTIVE,
            "meta_campaign_id": "seed-meta-campaign-0002",
            "meta_ad_set_id": "seed-meta-adset-0002",
            "meta_account_id": "act_seed_0002",
            "target_audience": {"interests": ["technology", "business"]},
            "target_locations": ["US", "UK", "DE", "FR"],
            "target_age_range": {"min": 18, "max": 65},
            "start_date": today - dt.timedelta(days=30),
            "end_date": today + dt.timedelta(days=60),
            "total_spend": Decimal("3210.75"),
            "total_impressions": 820_000,
            "total_clicks": 9_840,
            "total_conversions": 0,
        },
    ]


def _variant(variant_id: str, name: str, headline: str, clicks: int, conversions: int) -> Any:
    return {
        "id": variant_id,
        "name": name,
        "creative": {"headline": headline},
        "impressions": 50_000,
        "clicks": clicks,
        "conversions": conversions,
    }


def _experiment_rows(today: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": seed_id("experiments", "headline-test"),
            "campaign": campaign_id(DEMO_CAMPAIGN),
            "name": "Headline A/B test",
            "description": "Which headline converts better on the hero clip.",
            "variants": [
                _variant("a", "Control", "Summer Sale: up to 50% off", 1_250, 62),
                _variant("b", "Urgency", "Last chance: summer deals end soon", 1_480, 81),
            ],
            "status": ExperimentStatus.RUNNING,
            "metrics": {
                "a": {"ctr": 0.025, "cvr": 0.0496},
                "b": {"ctr": 0.0296, "cvr": 0.0547},
            },
            "confidence": 0.87,
            "start_date": today - dt.timedelta(days=7),
        }
    ]


def _conversions(today: dt.datetime) -> list[ConversionInput]:
    conversions = []
    for index in range(CONVERSIONS):
        asset = ASSETS[index % len(ASSETS)]
        conversions.append(
            ConversionInput(
                external_id=f"seed-conversion-{index:04d}",
                value=Decimal(49) + Decimal(index * 7) + Decimal("0.99"),
                currency="USD",
                campaign_id=campaign_id(DEMO_CAMPAIGN),
                attributed_clip_id=clip_id(asset["filename"], index % 5),
                attributed_ad_id=f"seed-ad-{index % 3}",
                timestamp=today - dt.timedelta(days=index % 7, hours=index + 8),
                metadata={"pixel": "purchase"},
            )
        )
    return conversions


def _metrics(today: dt.datetime) -> list[dict[str, Any]]:
    """One day's figures per asset for the last METRIC_DAYS days (roas and ctr derived)."""
    metrics = []
    for number, asset in enumerate(ASSETS):
        for day in range(1, METRIC_DAYS + 1):
            impressions = 8_000 + 1_000 * number + 150 * day
            clicks = impressions // 40
            conversions = clicks // 20
            metrics.append(
                {
                    "asset_id": asset_id(asset["filename"]),
                    "platform": "meta",
                    "date": (today - dt.timedelta(days=day)).date(),
                    "impressions": impressions,
                    "clicks": clicks,
                    "conversions": conversions,
                    "spend": Decimal(120 + 15 * number + day).quantize(Decimal("0.01")),
                    "revenue": (Decimal(conversions) * Decimal("49.99")).quantize(Decimal("0.01")),
                }
            )
    return metrics


async def _seed_metrics(today: dt.datetime) -> int:
    """Upsert the days not stored yet; return how many were created."""
    created = 0
    for metric in _metrics(today):
        page = await performance_metric_list(
            asset_id=metric["asset_id"],
            platform=metric["platform"],
            date_from=metric["date"],
            date_to=metric["date"],
        )
        if not page.items:
            await performance_metric_upsert(**metric)
            created += 1
    return created


_TOTALS = ("total_spend", "total_impressions", "total_clicks", "total_conversions")
_NOT_ARGUMENTS = ("id", "user", "status", *_TOTALS)


async def _missing(read: Callable[[], Awaitable[object]], absent: type[NotFoundError]) -> bool:
    """Whether the sample row that ``read()`` fetches is still to be created."""
    try:
        await read()
    except absent:
        return True
    return False


async def _seed_campaign(row: dict[str, Any]) -> bool:
    """Create one sample campaign through the services (ACTIVE, with its running totals)."""
    if not await _missing(lambda: campaign_get(campaign_id=row["id"]), CampaignNotFoundError):
        return False
    arguments = {key: value for key, value in row.items() if key not in _NOT_ARGUMENTS}
    await campaign_create(campaign_id=row["id"], user_id=row["user"], **arguments)
    await campaign_transition(campaign_id=row["id"], status=row["status"])
    await campaign_add_totals(
        campaign_id=row["id"],
        spend=row["total_spend"],
        impressions=row["total_impressions"],
        clicks=row["total_clicks"],
        conversions=row["total_conversions"],
    )
    return True


async def _seed_experiment(row: dict[str, Any]) -> bool:
    """Create the sample experiment (RUNNING, with its variants' counts) through the services."""
    if not await _missing(lambda: experiment_get(experiment_id=row["id"]), ExperimentNotFoundError):
        return False
    variants = [
        {"id": v["id"], "name": v["name"], "settings": v["creative"]} for v in row["variants"]
    ]
    await experiment_create(
        experiment_id=row["id"],
        campaign_id=row["campaign"],
        name=row["name"],
        description=row["description"],
        variants=variants,
        start_date=row["start_date"],
    )
    await experiment_transition(experiment_id=row["id"], status=row["status"])
    for variant in row["variants"]:
        await experiment_record(
            experiment_id=row["id"],
            variant_id=variant["id"],
            impressions=variant["impressions"],
            clicks=variant["clicks"],
            conversions=variant["conversions"],
        )
    return True


async def seed_ads() -> SeedReport:
    """Create the sample campaigns, experiment, conversions and metrics when missing."""
    report = SeedReport()
    today = _today()
    campaigns = _campaign_rows(today)
    created = [await _seed_campaign(row) for row in campaigns]
    report.count("campaigns", rows=len(campaigns), created=sum(created))
    experiments = _experiment_rows(today)
    created = [await _seed_experiment(row) for row in experiments]
    report.count("experiments", rows=len(experiments), created=sum(created))
    # Idempotent services: a conversion is keyed by its external_id (and adds 1 to its
    # campaign's total_conversions when new), a metric by (asset, platform, date).
    ingested = await conversion_ingest_batch(
        source=ConversionSource.META, conversions=_conversions(today)
    )
    report.count("conversions", rows=CONVERSIONS, created=ingested.inserted)
    metrics = await _seed_metrics(today)
    report.count("performance_metrics", rows=len(ASSETS) * METRIC_DAYS, created=metrics)
    return report
