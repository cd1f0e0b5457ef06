"""Rows for the browser test, committed into the database named by ``DATABASE_URL``.

Run as ``python -m tests.admin.browser_seed <username> <password>``: it creates an admin
login, a user, an asset and clips in several statuses, another user with an ACTIVE
campaign, and prints their ids as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

from piccolo.apps.user.tables import BaseUser

from apps.ads.services import campaign_create, campaign_transition
from apps.ads.tables import CampaignStatus
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
    return {
        "asset": str(asset.id),
        "clips": [{**c, "id": str(c["id"])} for c in clips],
        "user": str(customer.id),
        "campaign": str(campaign.id),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(sys.argv[1], sys.argv[2]))))
