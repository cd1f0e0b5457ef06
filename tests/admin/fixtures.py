"""Rows for admin tests: users through the users service, assets and clips as plain rows."""

from __future__ import annotations

import secrets
from typing import Any

from apps.media.tables import Asset, Clip
from apps.users.records import UserRecord
from apps.users.services import user_create


async def make_user(**fields: Any) -> UserRecord:
    """A live user made by ``user_create`` (``fields``: email, name, role, password, ...)."""
    fields.setdefault("email", f"{secrets.token_hex(4)}@example.com")
    fields.setdefault("name", "Test user")
    return await user_create(**fields)


async def make_asset(user: UserRecord) -> Asset:
    token = secrets.token_hex(4)
    asset = Asset(
        user=user.id,
        filename=f"{token}.mp4",
        original_name=f"ad-{token}.mp4",
        mime_type="video/mp4",
        file_size=50_000_000,
        gcs_url=f"gs://bucket/{token}.mp4",
        gcs_bucket="bucket",
        gcs_path=f"{token}.mp4",
        status="READY",
    )
    await asset.save()
    return asset


async def make_clips(asset: Asset, count: int, **values: Any) -> list[Clip]:
    clips = [
        Clip(
            asset=asset.id,
            start_time=float(i),
            end_time=float(i) + 5.0,
            duration=5.0,
            score=round(1.0 - i / (count + 1), 6),
            rank=i + 1,
            status=values.get("status", "SCORED"),
        )
        for i in range(count)
    ]
    await Clip.insert(*clips)
    return clips
