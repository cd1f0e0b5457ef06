"""Conversions: idempotent batch ingestion, attribution and campaign totals."""

import datetime
import uuid
from decimal import Decimal

import pytest

from apps.ads import selectors, services
from apps.ads.errors import AdsValidationError
from apps.ads.records import ConversionInput
from apps.ads.tables import Conversion, ConversionSource
from apps.core.errors import NotFoundError
from tests.ads.factories import make_asset, make_campaign, make_clip, make_user
from tests.conftest import savepoint


async def test_ingest_stores_attributes_and_counts_new_conversions() -> None:
    # given a campaign and a clip
    user_id = await make_user()
    campaign = await make_campaign(user_id=user_id)
    clip_id = await make_clip(asset_id=await make_asset(user_id=user_id))
    at = datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.UTC)
    batch = [
        ConversionInput(
            external_id=f"fb-{i}",
            value=Decimal("19.99"),
            campaign_id=campaign.id,
            attributed_clip_id=clip_id,
            attributed_ad_id="ad-1",
            timestamp=at,
            metadata={"n": i},
        )
        for i in range(3)
    ]
    # when the batch is ingested
    result = await services.conversion_ingest_batch(source=ConversionSource.META, conversions=batch)
    # then every conversion is stored, attributed, and counted once on the campaign
    assert (result.received, result.inserted, result.duplicates) == (3, 3, 0)
    assert sorted(result.new_external_ids) == ["fb-0", "fb-1", "fb-2"]
    stored = (await selectors.conversion_list(campaign_id=campaign.id)).items
    assert {c.attributed_clip_id for c in stored} == {clip_id}
    assert {c.value for c in stored} == {Decimal("19.99")}
    assert {c.source for c in stored} == {ConversionSource.META}
    assert (await selectors.campaign_get(campaign_id=campaign.id)).total_conversions == 3


async def test_redelivery_changes_nothing() -> None:
    campaign = await make_campaign()
    batch = [
        ConversionInput(external_id=f"g-{i}", value=Decimal(5), campaign_id=campaign.id)
        for i in range(4)
    ]
    await services.conversion_ingest_batch(source=ConversionSource.GOOGLE, conversions=batch)
    before = await Conversion.select().order_by(Conversion.external_id)
    # when the same batch (plus one new conversion) is delivered again
    again = await services.conversion_ingest_batch(
        source=ConversionSource.GOOGLE,
        conversions=[
            *batch,
            ConversionInput(external_id="g-9", value=Decimal(1), campaign_id=campaign.id),
        ],
    )
    # then only the new one is stored and counted
    assert (again.inserted, again.duplicates, again.new_external_ids) == (1, 4, ("g-9",))
    after = await Conversion.select().order_by(Conversion.external_id)
    assert after[:4] == before
    assert (await selectors.campaign_get(campaign_id=campaign.id)).total_conversions == 5


async def test_duplicates_inside_one_batch_count_once() -> None:
    campaign = await make_campaign()
    item = ConversionInput(external_id="w-1", value=Decimal("2.50"), campaign_id=campaign.id)
    result = await services.conversion_ingest_batch(
        source=ConversionSource.WEBHOOK, conversions=[item, item, item]
    )
    assert (result.inserted, result.duplicates) == (1, 2)
    assert (await selectors.campaign_get(campaign_id=campaign.id)).total_conversions == 1


async def test_large_batches_go_through_copy_with_the_same_result() -> None:
    # given a batch above the COPY threshold, half of it already stored
    campaign = await make_campaign()
    other = await make_campaign()
    size = services.COPY_THRESHOLD + 200
    batch = [
        ConversionInput(
            external_id=f"big-{i:05d}",
            value=Decimal("1.25"),
            campaign_id=campaign.id if i % 2 else other.id,
        )
        for i in range(size)
    ]
    first_half = await services.conversion_ingest_batch(
        source=ConversionSource.TIKTOK, conversions=batch[: size // 2]
    )
    # when the whole batch is delivered
    result = await services.conversion_ingest_batch(
        source=ConversionSource.TIKTOK, conversions=batch
    )
    # then each conversion is stored and counted exactly once
    assert first_half.inserted == size // 2
    assert (result.received, result.inserted) == (size, size - size // 2)
    assert await Conversion.count() == size
    first = await selectors.campaign_get(campaign_id=campaign.id)
    second = await selectors.campaign_get(campaign_id=other.id)
    assert first.total_conversions + second.total_conversions == size
    assert first.total_conversions == size // 2
    # and a second large delivery inside the same transaction reuses the staging table
    repeat = await services.conversion_ingest_batch(
        source=ConversionSource.TIKTOK, conversions=batch
    )
    assert repeat.inserted == 0


async def test_unknown_campaign_or_clip_fails_the_whole_batch() -> None:
    campaign = await make_campaign()
    good = ConversionInput(external_id="ok-1", value=Decimal(1), campaign_id=campaign.id)
    for bad, field in (
        (
            ConversionInput(external_id="x-1", value=Decimal(1), campaign_id=uuid.uuid4()),
            "campaign_id",
        ),
        (
            ConversionInput(external_id="x-2", value=Decimal(1), attributed_clip_id=uuid.uuid4()),
            "attributed_clip_id",
        ),
    ):
        with pytest.raises(NotFoundError) as raised:
            async with savepoint():
                await services.conversion_ingest_batch(
                    source=ConversionSource.META, conversions=[good, bad]
                )
        assert raised.value.field == field
    # nothing was half written
    assert await Conversion.count() == 0
    assert (await selectors.campaign_get(campaign_id=campaign.id)).total_conversions == 0


@pytest.mark.parametrize(
    ("item", "field", "rule"),
    [
        (
            ConversionInput(external_id=" ", value=Decimal(1)),
            "conversions[1].external_id",
            "not_blank",
        ),
        (ConversionInput(external_id="a", value=Decimal("-1")), "conversions[1].value", "min"),
        (
            ConversionInput(external_id="a", value=1.5),  # type: ignore[arg-type]
            "conversions[1].value",
            "type",
        ),
        (
            ConversionInput(external_id="a", value=Decimal(1), currency="EURO"),
            "conversions[1].currency",
            "iso4217",
        ),
    ],
)
async def test_bad_conversions_name_their_position_field_and_rule(
    item: ConversionInput, field: str, rule: str
) -> None:
    good = ConversionInput(external_id="fine", value=Decimal(1))
    with pytest.raises(AdsValidationError) as raised:
        await services.conversion_ingest_batch(
            source=ConversionSource.META, conversions=[good, item]
        )
    assert (raised.value.field, raised.value.rule) == (field, rule)
    with pytest.raises(AdsValidationError) as source:
        await services.conversion_ingest_batch(
            source="FAX",  # type: ignore[arg-type]
            conversions=[good],
        )
    assert source.value.field == "source"
    assert await Conversion.count() == 0


async def test_empty_batch_is_a_no_op() -> None:
    result = await services.conversion_ingest_batch(source=ConversionSource.META, conversions=[])
    assert (result.received, result.inserted) == (0, 0)


async def test_conversions_outlive_a_purged_campaign() -> None:
    campaign = await make_campaign()
    await services.conversion_ingest_batch(
        source=ConversionSource.MANUAL,
        conversions=[ConversionInput(external_id="m-1", value=Decimal(3), campaign_id=campaign.id)],
    )
    await services.campaign_soft_delete(campaign_id=campaign.id)
    await services.campaign_purge(older_than=datetime.timedelta(0))
    rows = await Conversion.select(Conversion.campaign, Conversion.external_id)
    assert rows == [{"campaign_id": None, "external_id": "m-1"}]
