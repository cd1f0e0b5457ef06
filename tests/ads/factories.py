"""Rows the ads tests need, made through the services of the app that owns them.

Users come from ``apps.users.services``, assets and clips from ``apps.media.services``, the
ads rows from the ads services: a fixture row is one the application could have written.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from apps.ads import services
from apps.ads.records import CampaignRecord
from apps.media import services as media
from apps.media.tables import Asset
from apps.users import services as users
from apps.users.tables import User


async def make_user(*, name: str = "Ada Lovelace") -> uuid.UUID:
    """A live user with a unique email."""
    user = await users.user_create(email=f"user-{uuid.uuid4().hex[:12]}@example.com", name=name)
    return user.id


async def make_asset(*, user_id: uuid.UUID) -> uuid.UUID:
    """A live asset of ``user_id``."""
    asset = await media.asset_register(
        user_id=user_id,
        filename="ad.mp4",
        original_name="ad.mp4",
        mime_type="video/mp4",
        file_size=1_000_000,
        gcs_url=f"gs://gateway-test/videos/{uuid.uuid4().hex}.mp4",
    )
    return asset.id


async def make_clip(*, asset_id: uuid.UUID, start: float = 0.0, end: float = 5.0) -> uuid.UUID:
    """A live clip of ``asset_id``."""
    (clip_id,) = await media.clip_bulk_create(
        asset_id=asset_id, clips=[media.NewClip(start_time=start, end_time=end)]
    )
    return clip_id


async def soft_delete(table: type[User] | type[Asset], row_id: uuid.UUID) -> None:
    """Soft-delete a user or an asset through its app's service."""
    if table is User:
        await users.user_soft_delete(user_id=row_id)
    else:
        await media.asset_soft_delete(asset_id=row_id)


async def make_campaign(
    *, user_id: uuid.UUID | None = None, name: str = "Spring sale", **fields: Any
) -> CampaignRecord:
    """A DRAFT campaign made through the service (and a user when none is given)."""
    owner = user_id or await make_user()
    fields.setdefault("budget", Decimal("5000.00"))
    return await services.campaign_create(user_id=owner, name=name, **fields)
