"""campaigns, experiments, conversions, performance_metrics: types, defaults, rules."""

import datetime
import decimal
import json

import asyncpg

from apps.ads.tables import (
    Campaign,
    CampaignStatus,
    Conversion,
    ConversionSource,
    Experiment,
    ExperimentStatus,
    Objective,
    PerformanceMetric,
)
from tests.helpers import (
    assert_refused,
    fetchrow,
    fetchval,
    insert_asset,
    insert_campaign,
    insert_clip,
    insert_user,
)

BIG = 3_000_000_000  # past 2^31


async def test_campaign_round_trips_money_exactly_and_gets_the_defaults() -> None:
    # given a campaign with a budget that a float would not hold exactly
    user_id = await insert_user()
    campaign = Campaign(
        user=user_id,
        name="Spring",
        budget=decimal.Decimal("12345678.91"),
        daily_budget=decimal.Decimal("0.10"),
        target_locations=["US", "CA"],
        target_age_range={"min": 25, "max": 45},
        total_impressions=BIG,
    )
    await campaign.save()
    # when it is read back
    row = await Campaign.select().where(Campaign.id == campaign.id).first().output(load_json=True)
    # then money is an exact Decimal, counters are big integers, and defaults are set
    assert row is not None
    assert row["budget"] == decimal.Decimal("12345678.91")
    assert isinstance(row["budget"], decimal.Decimal)
    assert row["daily_budget"] == decimal.Decimal("0.10")
    assert row["total_spend"] == decimal.Decimal("0.00")
    assert row["total_impressions"] == BIG
    assert (row["total_clicks"], row["total_conversions"]) == (0, 0)
    assert row["objective"] == Objective.CONVERSIONS
    assert row["status"] == CampaignStatus.DRAFT
    assert row["currency"] == "USD"
    assert row["target_locations"] == ["US", "CA"]
    assert row["target_age_range"] == {"min": 25, "max": 45}
    assert row["target_audience"] == {} and row["metadata"] == {}


async def test_campaign_json_defaults_from_raw_sql() -> None:
    campaign_id = await insert_campaign(await insert_user())
    row = await fetchrow(
        "SELECT target_locations, target_audience, total_spend FROM campaigns WHERE id = $1",
        campaign_id,
    )
    assert json.loads(row["target_locations"]) == []
    assert json.loads(row["target_audience"]) == {}
    assert row["total_spend"] == decimal.Decimal("0")


async def test_campaign_constraints_refuse_bad_rows() -> None:
    user_id = await insert_user()
    base = "INSERT INTO campaigns (user_id, name, budget{}) VALUES ($1, 'c', $2{})"
    cases = [
        (-1, None, "budget_not_negative"),
        (1, ("daily_budget", -1), "daily_budget_not_negative"),
        (1, ("currency", "usd"), "currency_is_iso"),
        (1, ("currency", "EURO"), "currency_is_iso"),
        (1, ("status", "LIVE"), "status_is_valid"),
        (1, ("objective", "FAME"), "objective_is_valid"),
        (1, ("total_spend", -1), "total_spend_not_negative"),
        (1, ("total_clicks", -1), "totals_not_negative"),
    ]
    for budget, extra, constraint in cases:
        column, value = extra if extra else (None, None)
        sql = base.format(f", {column}" if column else "", ", $3" if column else "")
        args = [user_id, budget] + ([value] if column else [])
        await assert_refused(sql, *args, error=asyncpg.CheckViolationError, constraint=constraint)
    start = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    await assert_refused(
        "INSERT INTO campaigns (user_id, name, budget, start_date, end_date)"
        " VALUES ($1, 'c', 1, $2, $3)",
        user_id,
        start,
        start - datetime.timedelta(days=1),
        error=asyncpg.CheckViolationError,
        constraint="dates_are_ordered",
    )
    await assert_refused(
        "INSERT INTO campaigns (user_id, name, budget) VALUES ($1, 'c', 123456789.00)",
        user_id,
        error=asyncpg.NumericValueOutOfRangeError,
    )
    await assert_refused(
        "INSERT INTO campaigns (user_id, name) VALUES ($1, 'c')",
        user_id,
        error=asyncpg.NotNullViolationError,
    )


async def test_meta_campaign_id_is_unique_but_may_be_missing_many_times() -> None:
    user_id = await insert_user()
    await insert_campaign(user_id)
    await insert_campaign(user_id)
    await insert_campaign(user_id, meta_campaign_id="123")
    await assert_refused(
        "INSERT INTO campaigns (user_id, name, budget, meta_campaign_id)"
        " VALUES ($1, 'c', 1, '123')",
        user_id,
        error=asyncpg.UniqueViolationError,
    )


async def test_experiment_defaults_and_rules() -> None:
    campaign_id = await insert_campaign(await insert_user())
    experiment = Experiment(campaign=campaign_id, name="Headline")
    await experiment.save()
    row = await Experiment.select().where(Experiment.id == experiment.id).first()
    assert row is not None
    assert json.loads(row["variants"]) == [] and json.loads(row["metrics"]) == {}
    assert row["status"] == ExperimentStatus.DRAFT and row["confidence"] is None
    for column, value, constraint in [
        ("status", "DONE", "status_is_valid"),
        ("confidence", 1.5, "confidence_in_unit_range"),
        ("variants", '{"a": 1}', "variants_is_array"),
    ]:
        await assert_refused(
            f"INSERT INTO experiments (campaign_id, name, {column}) VALUES ($1, 'e', $2)",
            campaign_id,
            value,
            error=asyncpg.CheckViolationError,
            constraint=constraint,
        )


async def test_conversion_defaults_and_rules() -> None:
    campaign_id = await insert_campaign(await insert_user())
    conversion = Conversion(
        campaign=campaign_id, value=decimal.Decimal("19.99"), external_id="meta-1"
    )
    await conversion.save()
    row = await Conversion.select().where(Conversion.id == conversion.id).first()
    assert row is not None
    assert row["value"] == decimal.Decimal("19.99")
    assert row["source"] == ConversionSource.META and row["currency"] == "USD"
    assert row["timestamp"] is not None and row["attributed_clip_id"] is None
    await assert_refused(
        "INSERT INTO conversions (value, external_id) VALUES (1, 'meta-1')",
        error=asyncpg.UniqueViolationError,
    )
    await assert_refused(
        "INSERT INTO conversions (value) VALUES (-0.01)",
        error=asyncpg.CheckViolationError,
        constraint="value_not_negative",
    )
    await assert_refused(
        "INSERT INTO conversions (value, source) VALUES (1, 'EMAIL')",
        error=asyncpg.CheckViolationError,
        constraint="source_is_valid",
    )
    # a conversion without a campaign is allowed (it outlives its campaign)
    assert await fetchval("INSERT INTO conversions (value) VALUES (1) RETURNING id")


async def test_conversions_outlive_their_campaign_and_clip() -> None:
    # given a conversion attributed to a campaign and a clip
    user_id = await insert_user()
    campaign_id = await insert_campaign(user_id)
    clip_id = await insert_clip(await insert_asset(user_id))
    conversion_id = await fetchval(
        "INSERT INTO conversions (campaign_id, attributed_clip_id, value)"
        " VALUES ($1, $2, 5) RETURNING id",
        campaign_id,
        clip_id,
    )
    # when the campaign and the clip are hard-deleted
    await fetchval("DELETE FROM campaigns WHERE id = $1 RETURNING id", campaign_id)
    await fetchval("DELETE FROM clips WHERE id = $1 RETURNING id", clip_id)
    # then the conversion remains, with both links set to NULL
    row = await fetchrow(
        "SELECT campaign_id, attributed_clip_id, value FROM conversions WHERE id = $1",
        conversion_id,
    )
    assert row["campaign_id"] is None and row["attributed_clip_id"] is None
    assert row["value"] == decimal.Decimal("5.00")


async def test_deleting_a_user_deletes_campaigns_and_experiments() -> None:
    user_id = await insert_user()
    campaign_id = await insert_campaign(user_id)
    await fetchval(
        "INSERT INTO experiments (campaign_id, name) VALUES ($1, 'e') RETURNING id", campaign_id
    )
    await fetchval("DELETE FROM users WHERE id = $1 RETURNING id", user_id)
    assert await fetchval("SELECT count(*) FROM campaigns WHERE id = $1", campaign_id) == 0
    assert (
        await fetchval("SELECT count(*) FROM experiments WHERE campaign_id = $1", campaign_id) == 0
    )


async def test_performance_metric_is_unique_per_asset_platform_and_day() -> None:
    # given a day's figures for an asset on meta
    asset_id = await insert_asset(await insert_user())
    day = datetime.date(2026, 11, 1)
    metric = PerformanceMetric(
        asset=asset_id,
        date=day,
        impressions=BIG,
        clicks=1200,
        spend=decimal.Decimal("99.99"),
        revenue=decimal.Decimal("350.00"),
        roas=decimal.Decimal("3.50"),
        ctr=decimal.Decimal("0.0123"),
        raw_data={"source": "api"},
    )
    await metric.save()
    row = await fetchrow("SELECT * FROM performance_metrics WHERE id = $1", metric.id)
    assert row["platform"] == "meta" and row["date"] == day
    assert row["impressions"] == BIG and row["ctr"] == decimal.Decimal("0.0123")
    assert row["conversions"] == 0
    # then a second row for the same day and platform is refused, another platform is fine
    sql = "INSERT INTO performance_metrics (asset_id, platform, date) VALUES ($1, $2, $3)"
    refused = await assert_refused(sql, asset_id, "meta", day, error=asyncpg.UniqueViolationError)
    # (raised by the month's partition: performance_metrics_y2026m11_..._one_row_per_day)
    assert "one_row_per_day" in (refused.constraint_name or ""), refused
    await fetchval(sql + " RETURNING id", asset_id, "google", day)
    await assert_refused(
        "INSERT INTO performance_metrics (asset_id, date, clicks) VALUES ($1, $2, -1)",
        asset_id,
        day + datetime.timedelta(days=1),
        error=asyncpg.CheckViolationError,
        constraint="counts_not_negative",
    )
    await assert_refused(
        "INSERT INTO performance_metrics (asset_id, date, ctr) VALUES ($1, $2, 1.5)",
        asset_id,
        day + datetime.timedelta(days=1),
        error=asyncpg.CheckViolationError,
        constraint="ctr_in_unit_range",
    )
    # and deleting the asset deletes its metrics
    await fetchval("DELETE FROM assets WHERE id = $1 RETURNING id", asset_id)
    assert (
        await fetchval("SELECT count(*) FROM performance_metrics WHERE asset_id = $1", asset_id)
        == 0
    )
