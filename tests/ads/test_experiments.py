"""Experiments: create, transitions, recording counts, choosing a winner."""

import datetime
import uuid

import pytest

from apps.ads import selectors, services
from apps.ads.errors import (
    AdsValidationError,
    ExperimentNotFoundError,
    InsufficientConfidenceError,
    InvalidExperimentTransitionError,
    VariantNotFoundError,
)
from apps.ads.records import ExperimentRecord
from apps.ads.stats import normal_cdf
from apps.ads.tables import Experiment, ExperimentStatus
from tests.ads.factories import make_campaign

VARIANTS = [
    {"id": "a", "name": "Control", "settings": {"headline": "Buy now"}},
    {"id": "b", "name": "Challenger", "settings": {"headline": "Save 20% today"}},
]


async def running_experiment() -> ExperimentRecord:
    campaign = await make_campaign()
    experiment = await services.experiment_create(
        campaign_id=campaign.id, name="Headline", variants=VARIANTS
    )
    return await services.experiment_transition(
        experiment_id=experiment.id, status=ExperimentStatus.RUNNING
    )


async def test_experiment_create_starts_counters_at_zero() -> None:
    campaign = await make_campaign()
    experiment = await services.experiment_create(
        campaign_id=campaign.id, name="Headline", variants=VARIANTS
    )
    assert experiment.status is ExperimentStatus.DRAFT
    assert [
        (v.id, v.name, v.impressions, v.clicks, v.conversions) for v in experiment.variants
    ] == [
        ("a", "Control", 0, 0, 0),
        ("b", "Challenger", 0, 0, 0),
    ]
    assert experiment.variants[1].settings == {"headline": "Save 20% today"}
    assert await selectors.experiment_get(experiment_id=experiment.id) == experiment


@pytest.mark.parametrize(
    ("variants", "field", "rule"),
    [
        ([{"id": "a", "name": "A"}], "variants", "min"),
        ([{"id": "a", "name": "A"}, {"id": "a", "name": "B"}], "variants[1].id", "unique"),
        ([{"id": "a", "name": "A"}, {"id": "b"}], "variants[1].name", "required"),
        ([{"id": "a", "name": "A"}, "b"], "variants[1]", "json_object"),
    ],
)
async def test_experiment_create_checks_variants(
    variants: list[object], field: str, rule: str
) -> None:
    campaign = await make_campaign()
    with pytest.raises(AdsValidationError) as raised:
        await services.experiment_create(
            campaign_id=campaign.id,
            name="t",
            variants=variants,  # type: ignore[arg-type]
        )
    assert (raised.value.field, raised.value.rule) == (field, rule)
    assert await Experiment.count() == 0


async def test_experiment_transitions_follow_the_table() -> None:
    experiment = await running_experiment()
    paused = await services.experiment_transition(
        experiment_id=experiment.id, status=ExperimentStatus.PAUSED
    )
    assert paused.status is ExperimentStatus.PAUSED
    cancelled = await services.experiment_transition(
        experiment_id=experiment.id, status=ExperimentStatus.CANCELLED
    )
    assert cancelled.status is ExperimentStatus.CANCELLED
    with pytest.raises(InvalidExperimentTransitionError) as raised:
        await services.experiment_transition(
            experiment_id=experiment.id, status=ExperimentStatus.RUNNING
        )
    assert raised.value.rule == "CANCELLED->RUNNING"
    with pytest.raises(ExperimentNotFoundError):
        await services.experiment_transition(
            experiment_id=uuid.uuid4(), status=ExperimentStatus.RUNNING
        )


async def test_experiment_record_adds_to_one_variant() -> None:
    experiment = await running_experiment()
    await services.experiment_record(
        experiment_id=experiment.id, variant_id="b", impressions=100, clicks=7
    )
    variants = await services.experiment_record(
        experiment_id=experiment.id, variant_id="b", impressions=50, clicks=3, conversions=1
    )
    by_id = {v.id: v for v in variants}
    assert (by_id["b"].impressions, by_id["b"].clicks, by_id["b"].conversions) == (150, 10, 1)
    assert (by_id["a"].impressions, by_id["a"].clicks, by_id["a"].conversions) == (0, 0, 0)
    # the variant's name and settings are kept, and the order of variants too
    assert [v.id for v in variants] == ["a", "b"]
    assert by_id["b"].settings == {"headline": "Save 20% today"}


async def test_experiment_record_refuses_unknown_variant_draft_and_deleted() -> None:
    experiment = await running_experiment()
    with pytest.raises(VariantNotFoundError) as raised:
        await services.experiment_record(experiment_id=experiment.id, variant_id="z", clicks=1)
    assert raised.value.field == "variant_id"
    with pytest.raises(AdsValidationError):
        await services.experiment_record(experiment_id=experiment.id, variant_id="a", clicks=-1)
    campaign = await make_campaign()
    draft = await services.experiment_create(campaign_id=campaign.id, name="d", variants=VARIANTS)
    with pytest.raises(InvalidExperimentTransitionError):
        await services.experiment_record(experiment_id=draft.id, variant_id="a", clicks=1)
    await services.experiment_soft_delete(experiment_id=experiment.id)
    with pytest.raises(ExperimentNotFoundError):
        await services.experiment_record(experiment_id=experiment.id, variant_id="a", clicks=1)


async def test_experiment_select_winner_above_the_threshold() -> None:
    # given B's CTR is 13% against A's 10% over 1000 impressions each (z = 2.10274)
    experiment = await running_experiment()
    await services.experiment_record(
        experiment_id=experiment.id, variant_id="a", impressions=1000, clicks=100
    )
    await services.experiment_record(
        experiment_id=experiment.id, variant_id="b", impressions=1000, clicks=130
    )
    # when a winner is selected at 95%
    completed = await services.experiment_select_winner(experiment_id=experiment.id)
    # then B wins with confidence Phi(2.10274) = 0.98226 and the experiment is COMPLETED
    assert completed.status is ExperimentStatus.COMPLETED
    assert completed.winner_variant_id == "b"
    assert completed.winner_selected_at is not None
    assert completed.confidence == pytest.approx(normal_cdf(2.10274), abs=1e-5)
    assert completed.metrics["metric"] == "ctr"
    assert completed.metrics["variants"]["b"]["ctr"] == pytest.approx(0.13)
    assert completed.metrics["z_scores"]["a"] == pytest.approx(2.10274, abs=1e-5)
    # a completed experiment takes no more counts and no second winner
    with pytest.raises(InvalidExperimentTransitionError):
        await services.experiment_select_winner(experiment_id=experiment.id)
    with pytest.raises(InvalidExperimentTransitionError):
        await services.experiment_record(experiment_id=experiment.id, variant_id="a", clicks=1)


async def test_experiment_select_winner_below_the_threshold_changes_nothing() -> None:
    experiment = await running_experiment()
    await services.experiment_record(
        experiment_id=experiment.id, variant_id="a", impressions=1000, clicks=100
    )
    await services.experiment_record(
        experiment_id=experiment.id, variant_id="b", impressions=1000, clicks=130
    )
    # when asking for 99% confidence (the data give 98.2%)
    with pytest.raises(InsufficientConfidenceError) as raised:
        await services.experiment_select_winner(experiment_id=experiment.id, threshold=0.99)
    # then the error says so, and the experiment is still running without a winner
    assert raised.value.field == "confidence"
    assert raised.value.confidence == pytest.approx(0.98226, abs=1e-5)
    current = await selectors.experiment_get(experiment_id=experiment.id)
    assert current.status is ExperimentStatus.RUNNING
    assert current.winner_variant_id is None
    assert current.confidence is None
    with pytest.raises(AdsValidationError) as bad:
        await services.experiment_select_winner(experiment_id=experiment.id, threshold=1.5)
    assert bad.value.field == "threshold"


async def test_experiment_list_restore_and_purge() -> None:
    campaign = await make_campaign()
    first = await services.experiment_create(campaign_id=campaign.id, name="1", variants=VARIANTS)
    second = await services.experiment_create(campaign_id=campaign.id, name="2", variants=VARIANTS)
    page = await selectors.experiment_list(campaign_id=campaign.id, limit=1)
    rest = await selectors.experiment_list(
        campaign_id=campaign.id, limit=1, cursor=page.next_cursor
    )
    assert {page.items[0].id, rest.items[0].id} == {first.id, second.id}
    assert rest.next_cursor is None
    await services.experiment_soft_delete(experiment_id=first.id)
    assert [e.id for e in (await selectors.experiment_list(campaign_id=campaign.id)).items] == [
        second.id
    ]
    await services.experiment_restore(experiment_id=first.id)
    assert len((await selectors.experiment_list(campaign_id=campaign.id)).items) == 2
    await services.experiment_soft_delete(experiment_id=first.id)
    assert await services.experiment_purge(older_than=datetime.timedelta(0)) == 1
    with pytest.raises(ExperimentNotFoundError):
        await services.experiment_restore(experiment_id=first.id)
