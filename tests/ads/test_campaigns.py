"""Campaigns: create, read, update, list, status transitions, soft delete."""

import datetime
import uuid
from decimal import Decimal

import pytest

from apps.ads import selectors, services
from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    InvalidCampaignTransitionError,
)
from apps.ads.tables import Campaign, CampaignStatus, Experiment, Objective
from apps.core.errors import ConflictError, NotFoundError, ValidationError
from apps.users.tables import User
from tests.ads.factories import make_campaign, make_user, soft_delete
from tests.conftest import savepoint

UTC = datetime.UTC


async def test_campaign_create_stores_every_field_and_defaults() -> None:
    # given a user
    user_id = await make_user()
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    # when a campaign is created
    campaign = await services.campaign_create(
        user_id=user_id,
        name="  Spring sale ",
        budget=Decimal("5000.00"),
        daily_budget=Decimal("250.50"),
        objective=Objective.SALES,
        target_locations=["us", "CA"],
        target_age_range={"min": 25, "max": 45},
        start_date=start,
        meta_campaign_id="meta-1",
    )
    # then it is a DRAFT with zero totals, exact money and normalised values
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.name == "Spring sale"
    assert campaign.budget == Decimal("5000.00")
    assert campaign.daily_budget == Decimal("250.50")
    assert campaign.currency == "USD"
    assert campaign.target_locations == ["US", "CA"]
    assert campaign.target_age_range == {"min": 25, "max": 45}
    assert campaign.total_spend == Decimal("0")
    assert (campaign.total_impressions, campaign.total_clicks, campaign.total_conversions) == (
        0,
        0,
        0,
    )
    assert await selectors.campaign_get(campaign_id=campaign.id) == campaign


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"budget": 10.5}, "budget", "type"),
        ({"budget": Decimal("-1")}, "budget", "min"),
        ({"budget": Decimal("1.005")}, "budget", "scale"),
        ({"budget": Decimal("100000000")}, "budget", "max"),
        ({"name": "  "}, "name", "not_blank"),
        ({"currency": "usd"}, "currency", "iso4217"),
        ({"objective": "FAME"}, "objective", "one_of"),
        ({"target_locations": ["USA"]}, "target_locations", "iso3166"),
        ({"target_age_range": {"min": 50, "max": 20}}, "target_age_range", "range"),
        ({"start_date": datetime.datetime(2026, 1, 1)}, "start_date", "timezone_aware"),
        (
            {
                "start_date": datetime.datetime(2026, 2, 1, tzinfo=UTC),
                "end_date": datetime.datetime(2026, 1, 1, tzinfo=UTC),
            },
            "end_date",
            "after_start",
        ),
    ],
)
async def test_campaign_create_names_the_field_and_rule_of_bad_input(
    fields: dict[str, object], field: str, rule: str
) -> None:
    user_id = await make_user()
    arguments: dict[str, object] = {"name": "Sale", "budget": Decimal("10.00"), **fields}
    # when / then
    with pytest.raises(AdsValidationError) as raised:
        await services.campaign_create(user_id=user_id, **arguments)  # type: ignore[arg-type]
    assert (raised.value.field, raised.value.rule) == (field, rule)
    assert await Campaign.count() == 0


async def test_campaign_create_refuses_unknown_or_deleted_user_and_duplicate_meta_id() -> None:
    with pytest.raises(NotFoundError) as raised:
        await services.campaign_create(user_id=uuid.uuid4(), name="x", budget=Decimal(1))
    assert raised.value.field == "user_id"
    deleted = await make_user()
    await soft_delete(User, deleted)
    with pytest.raises(NotFoundError):
        await services.campaign_create(user_id=deleted, name="x", budget=Decimal(1))
    # given a campaign with a Meta id
    await make_campaign(meta_campaign_id="meta-7")
    # when another one claims it, then a conflict names the field
    with pytest.raises(ConflictError) as conflict:
        async with savepoint():
            await make_campaign(meta_campaign_id="meta-7")
    assert conflict.value.field == "meta_campaign_id"
    assert conflict.value.rule == "unique"


async def test_campaign_update_changes_only_the_given_fields() -> None:
    campaign = await make_campaign(description="old")
    # when
    updated = await services.campaign_update(
        campaign_id=campaign.id, budget=Decimal("7500.25"), description=None, metadata={"a": 1}
    )
    # then
    assert updated.budget == Decimal("7500.25")
    assert updated.description is None
    assert updated.metadata == {"a": 1}
    assert updated.name == campaign.name
    assert updated.updated_at >= campaign.updated_at
    assert await services.campaign_update(campaign_id=campaign.id) == updated


async def test_campaign_update_refuses_bad_values_and_unknown_campaigns() -> None:
    campaign = await make_campaign(start_date=datetime.datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(AdsValidationError) as raised:
        await services.campaign_update(campaign_id=campaign.id, daily_budget=Decimal("-5"))
    assert raised.value.field == "daily_budget"
    # an end date before the stored start date is refused by the database, naming the field
    with pytest.raises(ValidationError) as refused:
        async with savepoint():
            await services.campaign_update(
                campaign_id=campaign.id, end_date=datetime.datetime(2026, 1, 1, tzinfo=UTC)
            )
    assert refused.value.field == "end_date"
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_update(campaign_id=uuid.uuid4(), name="x")


async def test_campaign_transition_follows_the_table() -> None:
    campaign = await make_campaign()
    path = [
        CampaignStatus.SCHEDULED,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        CampaignStatus.ACTIVE,
        CampaignStatus.COMPLETED,
        CampaignStatus.ARCHIVED,
    ]
    for status in path:
        moved = await services.campaign_transition(campaign_id=campaign.id, status=status)
        assert moved.status is status
    # ARCHIVED is final
    with pytest.raises(InvalidCampaignTransitionError) as raised:
        await services.campaign_transition(campaign_id=campaign.id, status=CampaignStatus.ACTIVE)
    assert raised.value.field == "status"
    assert raised.value.rule == "ARCHIVED->ACTIVE"
    assert raised.value.code == "invalid_campaign_transition"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ([], CampaignStatus.PAUSED),
        ([], CampaignStatus.COMPLETED),
        ([CampaignStatus.ACTIVE], CampaignStatus.DRAFT),
        ([CampaignStatus.ACTIVE], CampaignStatus.ACTIVE),
        ([CampaignStatus.ACTIVE, CampaignStatus.COMPLETED], CampaignStatus.PAUSED),
    ],
)
async def test_campaign_transition_refuses_moves_outside_the_table(
    start: list[CampaignStatus], target: CampaignStatus
) -> None:
    campaign = await make_campaign()
    for status in start:
        await services.campaign_transition(campaign_id=campaign.id, status=status)
    with pytest.raises(InvalidCampaignTransitionError):
        await services.campaign_transition(campaign_id=campaign.id, status=target)
    unchanged = await selectors.campaign_get(campaign_id=campaign.id)
    assert unchanged.status == (start[-1] if start else CampaignStatus.DRAFT)


async def test_campaign_transition_of_unknown_campaign_or_status() -> None:
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_transition(campaign_id=uuid.uuid4(), status=CampaignStatus.ACTIVE)
    campaign = await make_campaign()
    with pytest.raises(AdsValidationError) as raised:
        await services.campaign_transition(
            campaign_id=campaign.id,
            status="LIVE",  # type: ignore[arg-type]
        )
    assert raised.value.rule == "one_of"


async def test_campaign_add_totals_adds_exactly() -> None:
    campaign = await make_campaign()
    await services.campaign_add_totals(
        campaign_id=campaign.id, spend=Decimal("0.10"), impressions=1000, clicks=10
    )
    totals = await services.campaign_add_totals(
        campaign_id=campaign.id, spend=Decimal("0.20"), impressions=3_000_000_000, conversions=2
    )
    assert totals.total_spend == Decimal("0.30")
    assert totals.total_impressions == 3_000_001_000  # past 2^31: BIGINT
    assert (totals.total_clicks, totals.total_conversions) == (10, 2)
    with pytest.raises(AdsValidationError) as raised:
        await services.campaign_add_totals(campaign_id=campaign.id, clicks=-1)
    assert (raised.value.field, raised.value.rule) == ("clicks", "min")
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_add_totals(campaign_id=uuid.uuid4(), clicks=1)


async def test_campaign_add_totals_refuses_spend_past_the_column_maximum() -> None:
    campaign = await make_campaign()
    await services.campaign_add_totals(campaign_id=campaign.id, spend=Decimal("99999999.00"))
    with pytest.raises(AdsValidationError) as raised:
        async with savepoint():
            await services.campaign_add_totals(campaign_id=campaign.id, spend=Decimal("1.00"))
    assert (raised.value.field, raised.value.rule) == ("spend", "max")
    current = await selectors.campaign_get(campaign_id=campaign.id)
    assert current.total_spend == Decimal("99999999.00")


async def test_campaign_list_pages_newest_first_with_a_signed_cursor() -> None:
    # given 7 campaigns of one user, three with the same created_at (the id breaks the tie)
    user_id = await make_user()
    ids = [(await make_campaign(user_id=user_id, name=f"c{i}")).id for i in range(7)]
    same = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    await Campaign.update({Campaign.created_at: same}).where(Campaign.id.is_in(ids[:3]))
    other_user_campaign = await make_campaign()
    # when paging by 3
    seen: list[uuid.UUID] = []
    cursor = None
    pages = 0
    while True:
        page = await selectors.campaign_list(user_id=user_id, limit=3, cursor=cursor)
        seen += [c.id for c in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    # then every campaign comes once, in (created_at, id) descending order
    assert pages == 3
    assert sorted(seen) == sorted(ids)
    rows = await Campaign.select(Campaign.id, Campaign.created_at).where(Campaign.id.is_in(ids))
    expected = [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))][::-1]
    assert seen == expected
    everyone = await selectors.campaign_list(limit=50)
    assert other_user_campaign.id in {c.id for c in everyone.items}


async def test_campaign_list_filters_by_status_and_refuses_bad_cursors() -> None:
    user_id = await make_user()
    active = await make_campaign(user_id=user_id)
    await services.campaign_transition(campaign_id=active.id, status=CampaignStatus.ACTIVE)
    await make_campaign(user_id=user_id)
    page = await selectors.campaign_list(user_id=user_id, status=CampaignStatus.ACTIVE)
    assert [c.id for c in page.items] == [active.id]
    assert page.next_cursor is None
    # a cursor from another list, or altered, is refused
    first = await selectors.campaign_list(user_id=user_id, limit=1)
    assert first.next_cursor is not None
    with pytest.raises(ValidationError) as tampered:
        await selectors.campaign_list(cursor=first.next_cursor[:-2] + "xx")
    assert (tampered.value.field, tampered.value.rule) == ("cursor", "tampered")
    with pytest.raises(ValidationError) as wrong:
        await selectors.experiment_list(campaign_id=active.id, cursor=first.next_cursor)
    assert wrong.value.rule == "wrong_list"
    with pytest.raises(ValidationError) as other_filter:
        await selectors.campaign_list(user_id=await make_user(), cursor=first.next_cursor)
    assert other_filter.value.rule == "wrong_list"
    with pytest.raises(ValidationError) as too_big:
        await selectors.campaign_list(limit=10_000)
    assert too_big.value.field == "limit"


async def test_soft_deleted_campaigns_and_their_experiments_vanish_and_come_back() -> None:
    # given a campaign with an experiment
    user_id = await make_user()
    campaign = await make_campaign(user_id=user_id)
    experiment = await services.experiment_create(
        campaign_id=campaign.id,
        name="Headline",
        variants=[{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
    )
    # when the campaign is soft-deleted
    await services.campaign_soft_delete(campaign_id=campaign.id)
    # then neither is readable, nor listed
    with pytest.raises(CampaignNotFoundError):
        await selectors.campaign_get(campaign_id=campaign.id)
    with pytest.raises(NotFoundError):
        await selectors.experiment_get(experiment_id=experiment.id)
    assert (await selectors.campaign_list(user_id=user_id)).items == []
    assert (await selectors.experiment_list(campaign_id=campaign.id)).items == []
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_soft_delete(campaign_id=campaign.id)
    # when it is restored, both come back
    await services.campaign_restore(campaign_id=campaign.id)
    assert (await selectors.campaign_get(campaign_id=campaign.id)).id == campaign.id
    assert (await selectors.experiment_get(experiment_id=experiment.id)).id == experiment.id
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_restore(campaign_id=campaign.id)


async def test_campaigns_of_a_soft_deleted_user_vanish() -> None:
    user_id = await make_user()
    campaign = await make_campaign(user_id=user_id)
    await soft_delete(User, user_id)
    with pytest.raises(CampaignNotFoundError):
        await selectors.campaign_get(campaign_id=campaign.id)
    assert campaign.id not in {c.id for c in (await selectors.campaign_list()).items}
    with pytest.raises(CampaignNotFoundError):
        await services.campaign_update(campaign_id=campaign.id, name="x")


async def test_campaign_purge_removes_only_old_deletions_and_cascades() -> None:
    old = await make_campaign(name="old")
    recent = await make_campaign(name="recent")
    await services.experiment_create(
        campaign_id=old.id, name="t", variants=[{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    )
    await services.campaign_soft_delete(campaign_id=old.id)
    await services.campaign_soft_delete(campaign_id=recent.id)
    long_ago = datetime.datetime.now(tz=UTC) - datetime.timedelta(days=40)
    await Campaign.update({Campaign.deleted_at: long_ago}).where(Campaign.id == old.id)
    # when purging deletions older than 30 days
    purged = await services.campaign_purge(older_than=datetime.timedelta(days=30))
    # then only the old one is gone for good, with its experiment
    assert purged == 1
    assert await Campaign.exists().where(Campaign.id == old.id) is False
    assert await Campaign.exists().where(Campaign.id == recent.id) is True
    assert await Experiment.count() == 0
