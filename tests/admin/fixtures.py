"""Rows for admin tests, made by the owning apps' services (as the admin's users would)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from apps.media.selectors import AssetRecord, ClipRecord, clip_get
from apps.media.services import (
    NewClip,
    asset_register,
    asset_transition,
    clip_bulk_create,
    clip_rank_asset,
)
from apps.media.tables import AssetStatus
from apps.users.records import UserRecord
from apps.users.services import user_create


async def make_user(**fields: Any) -> UserRecord:
    """A live user made by ``user_create`` (``fields``: email, name, role, password, ...)."""
    fields.setdefault("email", f"{secrets.token_hex(4)}@example.com")
    fields.setdefault("name", "Test user")
    return await user_create(**fields)


async def make_asset(user: UserRecord) -> AssetRecord:
    """A READY video of ``user`` (registered, then processed)."""
    token = secrets.token_hex(4)
    asset = await asset_register(
        user_id=user.id,
        filename=f"{token}.mp4",
        original_name=f"ad-{token}.mp4",
        mime_type="video/mp4",
        file_size=50_000_000,
        gcs_url=f"gs://bucket/{token}.mp4",
    )
    await asset_transition(asset_id=asset.id, status=AssetStatus.PROCESSING)
    return await asset_transition(asset_id=asset.id, status=AssetStatus.READY)


async def make_clips(asset: AssetRecord, count: int, **values: Any) -> Sequence[ClipRecord]:
    """``count`` scored clips of ``asset``, best first, ranked by the media app."""
    ids = await clip_bulk_create(
        asset_id=asset.id,
        clips=[
            NewClip(
                start_time=float(i),
                end_time=float(i) + 5.0,
                score=round(1.0 - i / (count + 1), 6),
                status=values.get("status", "SCORED"),
            )
            for i in range(count)
        ],
    )
    await clip_rank_asset(asset_id=asset.id)
    return [await clip_get(clip_id=clip_id) for clip_id in ids]
