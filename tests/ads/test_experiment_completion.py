"""An experiment is COMPLETED only with a winner: ``experiment_transition`` refuses it."""

import uuid

import pytest

from apps.ads import selectors, services
from apps.ads.errors import (
    ExperimentNotFoundError,
    InvalidCampaignTransitionError,
    InvalidExperimentTransitionError,
)
from apps.ads.tables import CampaignStatus, ExperimentStatus
from tests.ads.factories import make_campaign

VARIANTS = [
    {"id": "a", "name": "Control", "settings": {}},
    {"id": "b", "name": "Challenger", "settings": {}},
]


async def experiment_in(status: ExperimentStatus) -> uuid.UUID:
    campaign = await make_campaign()
    experiment = await services.experiment_create(
        campaign_id=campaign.id, name="Headline", variants=VARIANTS
    )
    path = {
        ExperimentStatus.DRAFT: [],
        ExperimentStatus.RUNNING: [ExperimentStatus.RUNNING],
        ExperimentStatus.PAUSED: [ExperimentStatus.RUNNING, ExperimentStatus.PAUSED],
        ExperimentStatus.CANCELLED: [ExperimentStatus.CANCELLED],
    }[status]
    for step in path:
        await services.experiment_transition(experiment_id=experiment.id, status=step)
    return experiment.id


@pytest.mark.parametrize("status", [ExperimentStatus.RUNNING, ExperimentStatus.PAUSED])
async def test_completing_without_a_winner_is_refused_on_the_winner(
    status: ExperimentStatus,
) -> None:
    experiment_id = await experiment_in(status)
    with pytest.raises(InvalidExperimentTransitionError) as raised:
        await services.experiment_transition(
            experiment_id=experiment_id, status=ExperimentStatus.COMPLETED
        )
    assert (raised.value.field, raised.value.rule) == ("winner_variant_id", "required")
    assert raised.value.message == (
        f"a {status.value} experiment becomes COMPLETED only with a winner "
        "(experiment_select_winner picks it)"
    )
    stored = await selectors.experiment_get(experiment_id=experiment_id)
    assert (stored.status, stored.winner_variant_id) == (status, None)


@pytest.mark.parametrize("status", [ExperimentStatus.DRAFT, ExperimentStatus.CANCELLED])
async def test_completing_from_a_status_that_cannot_is_refused_on_the_status(
    status: ExperimentStatus,
) -> None:
    experiment_id = await experiment_in(status)
    with pytest.raises(InvalidExperimentTransitionError) as raised:
        await services.experiment_transition(
            experiment_id=experiment_id, status=ExperimentStatus.COMPLETED
        )
    assert (raised.value.field, raised.value.rule) == ("status", f"{status.value}->COMPLETED")
    assert (await selectors.experiment_get(experiment_id=experiment_id)).status is status


async def test_completing_a_missing_experiment_is_not_found() -> None:
    with pytest.raises(ExperimentNotFoundError) as raised:
        await services.experiment_transition(
            experiment_id=uuid.uuid4(), status=ExperimentStatus.COMPLETED
        )
    assert raised.value.field == "experiment_id"


async def test_a_campaign_refusal_uses_the_right_article() -> None:
    campaign = await make_campaign()
    await services.campaign_transition(campaign_id=campaign.id, status=CampaignStatus.ACTIVE)
    with pytest.raises(InvalidCampaignTransitionError) as raised:
        await services.campaign_transition(campaign_id=campaign.id, status=CampaignStatus.DRAFT)
    assert raised.value.message == "an ACTIVE campaign cannot become DRAFT"
    draft = await make_campaign()
    with pytest.raises(InvalidCampaignTransitionError) as raised:
        await services.campaign_transition(campaign_id=draft.id, status=CampaignStatus.COMPLETED)
    assert raised.value.message == "a DRAFT campaign cannot become COMPLETED"
