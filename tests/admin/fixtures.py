"""Rows for admin tests (the domain services are other apps'; these insert plain rows)."""

from __future__ import annotations

import secrets
from typing import Any

from apps.media.tables import Asset, Clip
from apps.users.tables import User


async def make_user(**values: Any) -> User:
    values.setdefault("email", f"{secrets.token_hex(4)}@example.com")
    user = User(name="Test user", **values)
    await user.save()
    return user


async def make_asset(user: User) -> Asset:
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
