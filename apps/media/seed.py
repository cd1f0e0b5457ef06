"""Sample assets, clips and predictions (docs/data-model.md, "Sample data"), as plain data."""

from __future__ import annotations

from typing import Any

from apps.core.seeding import SeedReport, seed_id
from apps.media import selectors, services
from apps.media.errors import AssetNotFoundError
from apps.media.tables import AssetStatus, ClipStatus
from apps.users.seed import DEMO_EMAIL, user_id

BUCKET = "gateway-demo-assets"

ASSETS: list[dict[str, Any]] = [
    {
        "filename": "summer-sale-hero.mp4",
        "original_name": "Summer Sale Hero Cut.mp4",
        "file_size": 52_428_800,  # 50 MB
        "duration": 60.0,
        "bitrate": 6_990_506,
        "clips": 5,
    },
    {
        "filename": "product-launch-teaser.mp4",
        "original_name": "Product Launch Teaser FINAL.mp4",
        "file_size": 73_400_320,  # 70 MB
        "duration": 90.0,
        "bitrate": 6_524_473,
        "clips": 6,
    },
]

EMOTIONS = ["joy", "excitement", "trust", "surprise", "anticipation", "calm"]
COLOURS = [["#FF6B35", "#004E89"], ["#F7C59F", "#1A659E"], ["#EFEFD0", "#FF6B35"]]
MODEL_VERSION = "v1.2.3"
PREDICTED_CLIPS = 5


def asset_id(filename: str) -> Any:
    return seed_id("assets", filename)


def clip_id(filename: str, index: int) -> Any:
    """The fixed id of clip ``index`` (0-based, by start time) of sample asset ``filename``."""
    return seed_id("clips", f"{filename}#{index}")


def _asset_row(asset: dict[str, Any]) -> dict[str, Any]:
    path = f"users/demo/{asset['filename']}"
    return {
        "id": asset_id(asset["filename"]),
        "user": user_id(DEMO_EMAIL),
        "filename": asset["filename"],
        "original_name": asset["original_name"],
        "mime_type": "video/mp4",
        "file_size": asset["file_size"],
        "gcs_url": f"gs://{BUCKET}/{path}",
        "gcs_bucket": BUCKET,
        "gcs_path": path,
        "thumbnail_url": f"https://storage.googleapis.com/{BUCKET}/thumbs/{asset['filename']}.jpg",
        "duration": asset["duration"],
        "fps": 30.0,
        "width": 1920,
        "height": 1080,
        "bitrate": asset["bitrate"],
        "codec": "h264",
        "status": AssetStatus.READY,
        "metadata": {"uploaded_via": "seed", "audio_codec": "aac"},
    }


def _clip_rows(asset: dict[str, Any]) -> list[dict[str, Any]]:
    count: int = asset["clips"]
    length = asset["duration"] / count
    # Scores fall with the index in a fixed but not monotonic pattern; rank follows score.
    scores = [round(0.95 - ((index * 7) % count) * 0.06, 2) for index in range(count)]
    ranking = sorted(range(count), key=lambda index: -scores[index])
    rows = []
    for index in range(count):
        start = round(index * length, 3)
        rows.append(
            {
                "id": clip_id(asset["filename"], index),
                "asset": asset_id(asset["filename"]),
                "start_time": start,
                "end_time": round(start + length, 3),
                "duration": round(length, 3),
                "clip_url": f"gs://{BUCKET}/clips/{asset['filename']}/{index}.mp4",
                "thumbnail_url": None,
                "features": {
                    "emotion": EMOTIONS[index % len(EMOTIONS)],
                    "dominant_colors": COLOURS[index % len(COLOURS)],
                    "has_logo": index % 2 == 0,
                    "call_to_action": index == count - 1,
                },
                "face_count": index % 3,
                "has_text": index % 2 == 0,
                "has_speech": index % 3 != 2,
                "has_music": True,
                "score": scores[index],
                "viral_score": round(scores[index] * 0.9, 3),
                "engagement_score": round(scores[index] * 0.85, 3),
                "brand_safety_score": 0.98,
                "rank": ranking.index(index) + 1,
                "status": ClipStatus.SCORED,
            }
        )
    return rows


def _prediction_rows(clips: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best = sorted(clips, key=lambda clip: -clip["score"])[:PREDICTED_CLIPS]
    return [
        {
            "id": seed_id("predictions", f"{clip['id']}/{MODEL_VERSION}"),
            "clip": clip["id"],
            "model_version": MODEL_VERSION,
            "model_type": "roas",
            "predicted_roas": round(2.0 + clip["score"] * 2, 2),
            "predicted_ctr": round(0.01 + clip["score"] / 50, 4),
            "predicted_cpc": round(1.5 - clip["score"], 2),
            "predicted_cpa": round(25 - clip["score"] * 10, 2),
            "predicted_engagement": round(clip["score"] * 0.1, 4),
            "features": {"score": clip["score"], "emotion": clip["features"]["emotion"]},
            "confidence": round(0.7 + clip["score"] / 5, 3),
        }
        for clip in best
    ]


_NOT_ASSET_ARGUMENTS = ("id", "user", "status", "gcs_bucket", "gcs_path")
_NOT_CLIP_ARGUMENTS = ("asset", "duration", "rank")


async def _seed_asset(
    asset: dict[str, Any], predictions: list[dict[str, Any]], report: SeedReport
) -> None:
    """One READY asset with its scored, ranked clips and the predictions of the best ones,
    created through the media services (all of it, or nothing when the asset exists)."""
    row = _asset_row(asset)
    clips = _clip_rows(asset)
    predictions = [p for p in predictions if p["clip"] in {c["id"] for c in clips}]
    try:
        await selectors.asset_get(asset_id=row["id"], include_deleted=True)
        exists = True
    except AssetNotFoundError:
        exists = False
    if not exists:
        arguments = {k: v for k, v in row.items() if k not in _NOT_ASSET_ARGUMENTS}
        await services.asset_register(asset_id=row["id"], user_id=row["user"], **arguments)
        await services.asset_transition(asset_id=row["id"], status=AssetStatus.PROCESSING)
        await services.asset_transition(asset_id=row["id"], status=row["status"])
        await services.clip_bulk_create(
            asset_id=row["id"],
            clips=[
                services.NewClip(**{k: v for k, v in c.items() if k not in _NOT_CLIP_ARGUMENTS})
                for c in clips
            ],
        )
        await services.clip_rank_asset(asset_id=row["id"])
        for prediction in predictions:
            arguments = {k: v for k, v in prediction.items() if k not in ("id", "clip")}
            await services.prediction_record(
                prediction_id=prediction["id"], clip_id=prediction["clip"], **arguments
            )
    created = 0 if exists else 1
    report.count("assets", rows=1, created=created)
    report.count("clips", rows=len(clips), created=created * len(clips))
    report.count("predictions", rows=len(predictions), created=created * len(predictions))


async def seed_media() -> SeedReport:
    """Create the sample assets, their scored clips and the predictions when missing."""
    report = SeedReport()
    # The best PREDICTED_CLIPS clips of all the sample assets get a prediction.
    predictions = _prediction_rows([clip for asset in ASSETS for clip in _clip_rows(asset)])
    for asset in ASSETS:
        await _seed_asset(asset, predictions, report)
    return report
