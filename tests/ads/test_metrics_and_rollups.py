"""Daily performance metrics (upsert) and campaign rollups."""

import datetime
import uuid
from decimal import Decimal

import pytest

from apps.ads import selectors, services
from apps.ads.errors import AdsValidationError, CampaignNotFoundError
from apps.ads.records import ConversionInput
from apps.ads.tables import ConversionSource, PerformanceMetric
from apps.core.errors import NotFoundError
from apps.media.tables import Asset
from apps.users.tables import User
from tests.ads.factories import make_asset, make_campaign, make_clip, make_user, soft_delete
from tests.conftest import savepoint

DAY1 = datetime.date(2026, 5, 1)
DAY2 = datetime.date(2026, 5, 2)


async def test_metric_upsert_derives_roas_and_ctr_and_replaces_the_day() -> None:
    asset_id = await make_asset(user_id=await make_user())
    first = await services.performance_metric_upsert(
        asset_id=asset_id,
        date=DAY1,
        impressions=3000,
        clicks=100,
        conversions=4,
        spend=Decimal("30.00"),
        revenue=Decimal("100.00"),
    )
    # roas = 100 / 30 = 3.33 (2 places), ctr = 100 / 3000 = 0.0333 (4 places)
    assert (first.roas, first.ctr) == (Decimal("3.33"), Decimal("0.0333"))
    # when the same day is reported again, the row is replaced, not duplicated
    second = await services.performance_metric_upsert(
        asset_id=asset_id, date=DAY1, impressions=0, spend=Decimal(0), revenue=Decimal(5)
    )
    assert second.id == first.id
    assert (second.roas, second.ctr, second.clicks) == (Decimal("0"), None, 0)
    assert await PerformanceMetric.count() == 1
    # another platform is another row
    await services.performance_metric_upsert(asset_id=asset_id, date=DAY1, platform="Google")
    page = await selectors.performance_metric_list(asset_id=asset_id)
    assert sorted(m.platform for m in page.items) == ["google", "meta"]
    google = await selectors.performance_metric_list(asset_id=asset_id, platform="GOOGLE")
    assert [m.platform for m in google.items] == ["google"]


async def test_metric_upsert_refuses_bad_figures_and_unknown_assets() -> None:
    asset_id = await make_asset(user_id=await make_user())
    with pytest.raises(AdsValidationError) as raised:
        await services.performance_metric_upsert(
            asset_id=asset_id, date=DAY1, impressions=1, clicks=2
        )
    assert (raised.value.field, raised.value.rule) == ("clicks", "max")
    with pytest.raises(AdsValidationError) as roas:
        async with savepoint():
            await services.performance_metric_upsert(
                asset_id=asset_id, date=DAY1, spend=Decimal("0.01"), revenue=Decimal("9999999")
            )
    assert roas.value.field == "roas"
    with pytest.raises(NotFoundError) as missing:
        await services.performance_metric_upsert(asset_id=uuid.uuid4(), date=DAY1)
    assert missing.value.field == "asset_id"
    assert await PerformanceMetric.count() == 0


async def test_metrics_of_a_soft_deleted_asset_vanish_from_listings() -> None:
    asset_id = await make_asset(user_id=await make_user())
    for day in range(1, 6):
        await services.performance_metric_upsert(
            asset_id=asset_id, date=datetime.date(2026, 5, day), impressions=10
        )
    first = await selectors.performance_metric_list(asset_id=asset_id, limit=3)
    rest = await selectors.performance_metric_list(
        asset_id=asset_id, limit=3, cursor=first.next_cursor
    )
    assert [m.date.day for m in first.items + rest.items] == [5, 4, 3, 2, 1]
    await soft_delete(Asset, asset_id)
    assert (await selectors.performance_metric_list(asset_id=asset_id)).items == []


async def test_campaign_rollup_per_day_and_in_total() -> None:
    # given a campaign whose conversions are attributed to clips of one asset
    user_id = await make_user()
    campaign = await make_campaign(user_id=user_id)
    asset_id = await make_asset(user_id=user_id)
    unrelated_asset = await make_asset(user_id=user_id)
    clip_id = await make_clip(asset_id=asset_id)

    def at(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(10), tzinfo=datetime.UTC)

    await services.conversion_ingest_batch(
        source=ConversionSource.META,
        conversions=[
            ConversionInput(
                external_id=f"c-{i}",
                value=value,
                campaign_id=campaign.id,
                attributed_clip_id=clip_id,
                timestamp=at(day),
            )
            for i, (day, value) in enumerate(
                [(DAY1, Decimal("40.00")), (DAY1, Decimal("20.00")), (DAY2, Decimal("10.00"))]
            )
        ],
    )
    await services.performance_metric_upsert(
        asset_id=asset_id, date=DAY1, impressions=1000, clicks=50, spend=Decimal("20.00")
    )
    await services.performance_metric_upsert(
        asset_id=asset_id, date=DAY1, platform="google", impressions=1000, clicks=30
    )
    await services.performance_metric_upsert(
        asset_id=asset_id, date=DAY2, impressions=0, spend=Decimal("0.00")
    )
    await services.performance_metric_upsert(
        asset_id=unrelated_asset, date=DAY1, impressions=999, spend=Decimal("999.00")
    )
    # when
    rollup = await selectors.campaign_rollup(campaign_id=campaign.id)
    # then day 1: spend 20, revenue 60, roas 3, ctr 80/2000, cpa 20/2 = 10
    day1, day2 = rollup.days
    assert day1.day == DAY1
    assert (day1.spend, day1.revenue, day1.conversions) == (Decimal("20.00"), Decimal("60.00"), 2)
    assert (day1.roas, day1.ctr, day1.cpa) == (
        Decimal("3.0000"),
        Decimal("0.0400"),
        Decimal("10.00"),
    )
    # day 2 has no spend and no impressions: roas and ctr are None, cpa is 0
    assert (day2.spend, day2.revenue, day2.roas, day2.ctr, day2.cpa) == (
        Decimal("0.00"),
        Decimal("10.00"),
        None,
        None,
        Decimal("0.00"),
    )
    total = rollup.total
    assert total.day is None
    assert (total.spend, total.revenue, total.impressions, total.clicks, total.conversions) == (
        Decimal("20.00"),
        Decimal("70.00"),
        2000,
        80,
        3,
    )
    assert (total.roas, total.cpa) == (Decimal("3.5000"), Decimal("6.67"))
    # a date range keeps only its days
    only_day2 = await selectors.campaign_rollup(campaign_id=campaign.id, date_from=DAY2)
    assert [d.day for d in only_day2.days] == [DAY2]


async def test_campaign_rollup_of_an_empty_or_unknown_campaign() -> None:
    campaign = await make_campaign()
    empty = await selectors.campaign_rollup(campaign_id=campaign.id)
    assert empty.days == ()
    assert (empty.total.spend, empty.total.conversions, empty.total.roas) == (Decimal(0), 0, None)
    with pytest.raises(CampaignNotFoundError):
        await selectors.campaign_rollup(campaign_id=uuid.uuid4())
    await services.campaign_soft_delete(campaign_id=campaign.id)
    with pytest.raises(CampaignNotFoundError):
        await selectors.campaign_rollup(campaign_id=campaign.id)


async def test_an_asset_of_a_soft_deleted_owner_is_not_live_for_metrics_and_rollups() -> None:
    # given a campaign whose conversions point at a clip of another user's asset, with figures
    campaign = await make_campaign()
    owner = await make_user(name="Asset owner")
    asset_id = await make_asset(user_id=owner)
    clip_id = await make_clip(asset_id=asset_id)
    await services.conversion_ingest_batch(
        source=ConversionSource.META,
        conversions=[
            ConversionInput(
                external_id="owner-gone-1",
                value=Decimal("30.00"),
                campaign_id=campaign.id,
                attributed_clip_id=clip_id,
                timestamp=datetime.datetime.combine(DAY1, datetime.time(9), tzinfo=datetime.UTC),
            )
        ],
    )
    await services.performance_metric_upsert(
        asset_id=asset_id, date=DAY1, impressions=100, clicks=5, spend=Decimal("12.00")
    )
    before = await selectors.campaign_rollup(campaign_id=campaign.id)
    assert (before.total.spend, before.total.impressions) == (Decimal("12.00"), 100)

    # when the asset's owner is soft-deleted
    await soft_delete(User, owner)

    # then the asset's figures leave the rollups and its metrics cannot be written or listed
    after = await selectors.campaign_rollup(campaign_id=campaign.id)
    assert (after.total.spend, after.total.impressions, after.total.clicks) == (
        Decimal("0.00"),
        0,
        0,
    )
    assert after.total.revenue == Decimal("30.00")  # the conversion is the campaign's own
    (mine,) = await selectors.campaign_rollups(user_id=campaign.user_id, since=DAY1, until=DAY1)
    assert mine.total == after.total
    with pytest.raises(NotFoundError) as refused:
        await services.performance_metric_upsert(asset_id=asset_id, date=DAY2, impressions=1)
    assert (refused.value.field, refused.value.rule) == ("asset_id", "exists")
    assert (await selectors.performance_metric_list(asset_id=asset_id)).items == []
