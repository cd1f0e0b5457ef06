"""Rollups of many campaigns in one statement, their plans, and the conversion stream."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest

from apps.ads import selectors, services
from apps.ads.errors import AdsValidationError
from apps.ads.records import ConversionInput
from apps.ads.tables import ConversionSource
from tests.ads.factories import make_asset, make_campaign, make_clip, make_user
from tests.core.statements import count_statements
from tests.helpers import connection

TODAY = datetime.datetime.now(datetime.UTC).date()


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=datetime.UTC)


async def ingest(campaign_id: uuid.UUID, days_ago: list[int], **fields: object) -> None:
    await services.conversion_ingest_batch(
        source=ConversionSource.META,
        conversions=[
            ConversionInput(
                external_id=f"r-{uuid.uuid4().hex}",
                value=Decimal("10.00"),
                campaign_id=campaign_id,
                timestamp=at(TODAY - datetime.timedelta(days=ago)),
                **fields,  # type: ignore[arg-type]
            )
            for ago in days_ago
        ],
    )


async def test_rollups_of_all_campaigns_match_the_single_rollups_in_one_statement() -> None:
    # given a user with three campaigns (one with conversions and spend, one without figures,
    # one soft-deleted) and another user's campaign
    user_id = await make_user()
    busy = await make_campaign(user_id=user_id, name="busy")
    idle = await make_campaign(user_id=user_id, name="idle")
    gone = await make_campaign(user_id=user_id, name="gone")
    other = await make_campaign()
    asset_id = await make_asset(user_id=user_id)
    clip_id = await make_clip(asset_id=asset_id)
    await ingest(busy.id, [0, 0, 3], attributed_clip_id=clip_id)
    await ingest(gone.id, [1])
    await ingest(other.id, [1])
    await services.performance_metric_upsert(
        asset_id=asset_id, date=TODAY, impressions=1000, clicks=40, spend=Decimal("5.00")
    )
    await services.campaign_soft_delete(campaign_id=gone.id)
    # when all rollups of the user are read
    with count_statements() as statements:
        rollups = await selectors.campaign_rollups(user_id=user_id)
    # then one statement returns one rollup per live campaign, equal to the single rollups
    assert len(statements) == 1, statements
    assert [r.campaign_id for r in rollups] == sorted([busy.id, idle.id])
    since = TODAY - datetime.timedelta(days=29)
    for rollup in rollups:
        single = await selectors.campaign_rollup(
            campaign_id=rollup.campaign_id, date_from=since, date_to=TODAY
        )
        assert rollup == single
    by_id = {r.campaign_id: r for r in rollups}
    assert by_id[busy.id].total.revenue == Decimal("30.00")
    assert by_id[busy.id].total.spend == Decimal("5.00")
    assert [d.day for d in by_id[busy.id].days] == [TODAY - datetime.timedelta(days=3), TODAY]
    assert by_id[idle.id].days == () and by_id[idle.id].total.conversions == 0


async def test_rollups_default_to_the_last_30_days_and_check_the_range() -> None:
    user_id = await make_user()
    campaign = await make_campaign(user_id=user_id)
    await ingest(campaign.id, [0, 29, 30, 400])
    (recent,) = await selectors.campaign_rollups(user_id=user_id)
    assert recent.total.conversions == 2
    (everything,) = await selectors.campaign_rollups(
        user_id=user_id, since=TODAY - datetime.timedelta(days=400)
    )
    assert everything.total.conversions == 4
    assert await selectors.campaign_rollups(user_id=uuid.uuid4()) == []
    with pytest.raises(AdsValidationError) as error:
        await selectors.campaign_rollups(
            user_id=user_id, since=TODAY, until=TODAY - datetime.timedelta(days=1)
        )
    assert (error.value.field, error.value.rule) == ("since", "range")


def _indexes_used(plan: str) -> set[str]:
    """The indexes a plan reads, named as on the (partitioned) parent table."""
    # conversions is partitioned by month: conversions_before_y2026m12_campaign_id_timestamp
    # and conversions_y2027m01_campaign_id_timestamp_idx are conversions_campaign_id_timestamp.
    names = re.findall(r"using (\w+)", plan, flags=re.IGNORECASE)
    return {
        re.sub(r"_idx$", "", re.sub(r"^(\w+?)_(?:before_)?y\d{4}m\d{2}_", r"\1_", name))
        for name in names
    }


@pytest.mark.parametrize("sql_name", ["CAMPAIGN_ROLLUP_SQL", "CAMPAIGN_ROLLUPS_SQL"])
async def test_prepared_rollup_plans_stay_on_the_campaign_index_after_six_runs(
    sql_name: str,
) -> None:
    # given 40 campaigns of many users with 50 conversions each over two years
    conn = connection()
    users = [await make_user() for _ in range(4)]
    campaigns = [await make_campaign(user_id=users[i % 4]) for i in range(40)]
    for campaign in campaigns:
        await ingest(campaign.id, [i * 15 for i in range(50)])
    await conn.execute("ANALYZE conversions")
    sql = getattr(selectors, sql_name)
    key = campaigns[0].id if sql_name == "CAMPAIGN_ROLLUP_SQL" else users[0]
    name = f"rollup_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"PREPARE {name} (uuid, date, date) AS {sql}")
    try:
        # when the prepared statement runs six times with the widest and the default ranges
        wide = (datetime.date(1, 1, 1), datetime.date(9999, 12, 31))
        default = (TODAY - datetime.timedelta(days=29), TODAY)
        for dates in (wide, default, wide, default, wide, default):
            await conn.fetch(f"EXECUTE {name} ('{key}', '{dates[0]}', '{dates[1]}')")
        plans = [
            "\n".join(
                row[0]
                for row in await conn.fetch(
                    f"EXPLAIN EXECUTE {name} ('{key}', '{dates[0]}', '{dates[1]}')"
                )
            )
            for dates in (wide, default)
        ]
    finally:
        await conn.execute(f"DEALLOCATE {name}")
    # then every plan reads the conversions of the campaigns through the campaign index,
    # never by scanning the timestamp index or the table
    for plan in plans:
        used = _indexes_used(plan)
        assert "conversions_campaign_id_timestamp" in used, plan
        assert "conversions_timestamp" not in " ".join(used), plan
        # (only the partitions of the coming months, still empty, may be read in full)
        assert "Seq Scan on conversions_before" not in plan, plan


async def test_the_conversion_stream_reads_everything_in_order_at_flat_cost() -> None:
    # given 120 conversions of two campaigns
    first = await make_campaign()
    second = await make_campaign()
    await ingest(first.id, list(range(60)))
    await ingest(second.id, list(range(60)))
    mine = {first.id, second.id}
    # when streamed 7 rows per statement
    with count_statements() as statements:
        streamed = [c async for c in selectors.conversion_stream(page=7) if c.campaign_id in mine]
    # then every conversion comes once, in (created_at, id) order, 7 rows per statement
    assert len(streamed) == 120
    assert len({c.id for c in streamed}) == 120
    total = await connection().fetchval("SELECT count(*) FROM conversions")
    assert len(statements) == total // 7 + 1
    rows = await connection().fetch(
        "SELECT id FROM conversions WHERE campaign_id = ANY($1) ORDER BY created_at, id",
        list(mine),
    )
    assert [c.id for c in streamed] == [row["id"] for row in rows]
    # and a deep page is an index range scan like the first one
    with pytest.raises(AdsValidationError) as error:
        [c async for c in selectors.conversion_stream(page=0)]
    assert error.value.field == "page"
    # (on a table this small the planner may as well sort another index's rows; with sorts
    # priced out, the plan shows whether the (created_at, id) index serves the order alone)
    await connection().execute("SET LOCAL enable_sort = off")
    await connection().execute("SET LOCAL enable_incremental_sort = off")
    plan = "\n".join(
        row[0]
        for row in await connection().fetch(
            f"EXPLAIN {selectors._CONVERSION_STREAM}",
            datetime.datetime.now(datetime.UTC),
            uuid.uuid4(),
            100,
        )
    )
    assert "conversions_created_at_id" in _indexes_used(plan) and "Index Cond" in plan, plan
