"""Rows the ads tests need from other apps.

Users are made through the users service; assets and clips are inserted through their Table
classes. The ads rows themselves are made through the ads services.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from apps.ads import services
from apps.ads.records import CampaignRecord
from apps.media.tables import Asset, Clip
from apps.users.services import user_create


async def make_user(*, name: str = "Ada Lovelace") -> uuid.UUID:
    """A live user with a unique email."""
    user = await user_create(email=f"user-{uuid.uuid4().hex[:12]}@example.com", name=name)
    return user.id


async def make_asset(*, user_id: uuid.UUID) -> uuid.UUID:
    """A live asset of ``user_id``."""
    path = f"videos/{uuid.uuid4().hex}.mp4"
    rows = await Asset.insert(
        Asset(
            user=user_id,
            filename="ad.mp4",
            original_name="ad.mp4",
            mime_type="video/mp4",
            file_size=1_000_000,
            gcs_url=f"gs://gateway-test/{path}",
            gcs_bucket="gateway-test",
            gcs_path=path,
        )
    ).returning(Asset.id)
    return uuid.UUID(str(rows[0]["id"]))


async def make_clip(*, asset_id: uuid.UUID, start: float = 0.0, end: float = 5.0) -> uuid.UUID:
    """A live clip of ``asset_id``."""
    rows = await Clip.insert(
        Clip(asset=asset_id, start_time=start, end_time=end, duration=end - start)
    ).returning(Clip.id)
    return uuid.UUID(str(rows[0]["id"]))


async def soft_delete(table: Any, row_id: uuid.UUID) -> None:
    """Mark a row of a soft-deletable table deleted (users, assets, clips)."""
    await table.update({table.deleted_at: datetime.datetime.now(tz=datetime.UTC)}).where(
        table.id == row_id
    )


async def make_campaign(
    *, user_id: uuid.UUID | None = None, name: str = "Spring sale", **fields: Any
) -> CampaignRecord:
    """A DRAFT campaign made through the service (and a user when none is given)."""
    owner = user_id or await make_user()
    fields.setdefault("budget", Decimal("5000.00"))
    return await services.campaign_create(user_id=owner, name=name, **fields)
