"""Rows for the browser test, committed into the database named by ``DATABASE_URL``.

Run as ``python -m tests.admin.browser_seed <username> <password>``: it creates an admin
login, a user, a READY asset and clips in several statuses, a prediction, another user
with an ACTIVE campaign (a RUNNING experiment in it) and a DRAFT one, a day's metrics
(spend 121.00, revenue 499.73: roas 4.13) and a knowledge document, and prints their ids
as JSON.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
from decimal import Decimal

from piccolo.apps.user.tables import BaseUser

from apps.ads.services import (
    campaign_create,
    campaign_transition,
    experiment_create,
    experiment_transition,
    performance_metric_upsert,
)
from apps.ads.tables import CampaignStatus, ExperimentStatus
from apps.knowledge.services import document_create
from apps.media.services import prediction_record
from apps.media.tables import Clip
from tests.admin.fixtures import make_asset, make_clips, make_user


async def seed(username: str, password: str) -> dict[str, object]:
    await BaseUser.create_user(
        username=username,
        password=password,
        email=f"{username}@example.com",
        active=True,
        admin=True,
    )
    asset = await make_asset(await make_user())
    await make_clips(asset, 4, status="SCORED")
    await make_clips(asset, 3, status="PUBLISHED")
    clips = await Clip.select(Clip.id, Clip.status, Clip.rank).where(Clip.asset == asset.id)
    customer = await make_user()
    campaign = await campaign_create(user_id=customer.id, name="Spring", budget=Decimal("121"))
    await campaign_transition(campaign_id=campaign.id, status=CampaignStatus.ACTIVE)
    draft = await campaign_create(user_id=customer.id, name="Summer", budget=Decimal("80"))
    experiment = await experiment_create(
        campaign_id=campaign.id,
        name="Hooks",
        variants=[{"id": "a", "name": "Calm"}, {"id": "b", "name": "Loud"}],
    )
    await experiment_transition(experiment_id=experiment.id, status=ExperimentStatus.RUNNING)
    metric = await performance_metric_upsert(
        asset_id=asset.id,
        date=datetime.date(2026, 3, 1),
        impressions=1000,
        clicks=50,
        spend=Decimal("121.00"),
        revenue=Decimal("499.73"),
    )
    prediction = await prediction_record(
        clip_id=clips[0]["id"], model_version="v1", predicted_roas=2.0
    )
    document = await document_create(
        name="ROAS", content="Return on ad spend.\nSecond line.", category="guides"
    )
    return {
        "asset": str(asset.id),
        "clips": [{**c, "id": str(c["id"])} for c in clips],
        "user": str(customer.id),
        "campaign": str(campaign.id),
        "draft_campaign": str(draft.id),
        "experiment": str(experiment.id),
        "metric": str(metric.id),
        "prediction": str(prediction.id),
        "document": str(document.id),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(sys.argv[1], sys.argv[2]))))
