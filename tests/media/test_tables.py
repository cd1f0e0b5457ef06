"""assets, clips, predictions: column types, defaults, constraints, delete rules."""

import json

import asyncpg

from apps.media.tables import Asset, AssetStatus, Clip, ClipStatus, Prediction
from tests.helpers import (
    assert_refused,
    fetchrow,
    fetchval,
    insert_asset,
    insert_clip,
    insert_user,
)


async def test_asset_round_trips_every_column_and_gets_the_defaults() -> None:
    # given an asset of 5 GB (past 2^31 bytes) with every optional column set
    user_id = await insert_user()
    asset = Asset(
        user=user_id,
        filename="ad.mp4",
        original_name="Summer Ad.mp4",
        mime_type="video/mp4",
        file_size=5_000_000_000,
        gcs_url="gs://gateway-media/u/ad.mp4",
        gcs_bucket="gateway-media",
        gcs_path="u/ad.mp4",
        thumbnail_url="https://cdn.example.com/t.jpg",
        duration=31.5,
        fps=29.97,
        width=1920,
        height=1080,
        bitrate=8_000_000,
        codec="h264",
    )
    await asset.save()
    # when it is read back
    row = await Asset.select().where(Asset.id == asset.id).first().output(load_json=True)
    # then every value is exact and the defaults are filled in
    assert row is not None
    assert row["file_size"] == 5_000_000_000
    assert (row["duration"], row["fps"], row["width"], row["height"]) == (31.5, 29.97, 1920, 1080)
    assert row["status"] == AssetStatus.PENDING
    assert row["metadata"] == {}
    assert row["processing_error"] is None and row["deleted_at"] is None
    assert row["user_id"] == user_id  # Piccolo names the key after the db column


async def test_asset_constraints_refuse_bad_rows() -> None:
    user_id = await insert_user()
    await insert_asset(user_id, gcs_url="gs://b/one.mp4")
    await assert_refused(
        "INSERT INTO assets (user_id, filename, original_name, mime_type, file_size, gcs_url,"
        " gcs_bucket, gcs_path) VALUES ($1, 'a', 'a', 'video/mp4', 1, 'gs://b/one.mp4', 'b', 'p')",
        user_id,
        error=asyncpg.UniqueViolationError,
    )
    await assert_refused(
        "INSERT INTO assets (user_id, filename, original_name, mime_type, file_size, gcs_url,"
        " gcs_bucket, gcs_path) VALUES ($1, 'a', 'a', 'video/mp4', -1, 'gs://b/n', 'b', 'p')",
        user_id,
        error=asyncpg.CheckViolationError,
        constraint="file_size_not_negative",
    )
    for column, value, constraint in [
        ("duration", -0.5, "duration_not_negative"),
        ("fps", -1.0, "fps_not_negative"),
        ("width", -1, "width_not_negative"),
        ("height", -1, "height_not_negative"),
        ("bitrate", -1, "bitrate_not_negative"),
        ("status", "DONE", "status_is_valid"),
    ]:
        await assert_refused(
            f"INSERT INTO assets (user_id, filename, original_name, mime_type, file_size,"
            f" gcs_url, gcs_bucket, gcs_path, {column}) VALUES ($1, 'a', 'a', 'video/mp4', 1,"
            f" 'gs://b/' || gen_random_uuid(), 'b', 'p', $2)",
            user_id,
            value,
            error=asyncpg.CheckViolationError,
            constraint=constraint,
        )
    await assert_refused(
        "INSERT INTO assets (user_id, filename, original_name, mime_type, file_size, gcs_url,"
        " gcs_bucket, gcs_path) VALUES ($1, 'a', 'a', 'video/mp4', 1, 'https://x/y', 'b', 'p')",
        user_id,
        error=asyncpg.CheckViolationError,
        constraint="gcs_url_is_gs",
    )
    await assert_refused(
        "INSERT INTO assets (user_id, filename, original_name, mime_type, gcs_url, gcs_bucket,"
        " gcs_path) VALUES ($1, 'a', 'a', 'video/mp4', 'gs://b/x', 'b', 'p')",
        user_id,
        error=asyncpg.NotNullViolationError,
    )


async def test_clip_round_trips_and_gets_the_defaults() -> None:
    user_id = await insert_user()
    asset_id = await insert_asset(user_id)
    clip = Clip(
        asset=asset_id,
        start_time=1.25,
        end_time=6.5,
        duration=5.25,
        features={"emotion": "joy", "colours": ["#ff0000"], "logo": True},
        face_count=2,
        has_speech=True,
        score=0.91,
        viral_score=0.5,
        engagement_score=0.7,
        brand_safety_score=0.99,
        rank=1,
    )
    await clip.save()
    row = await Clip.select().where(Clip.id == clip.id).first().output(load_json=True)
    assert row is not None
    assert row["features"] == {"emotion": "joy", "colours": ["#ff0000"], "logo": True}
    assert (row["has_text"], row["has_speech"], row["has_music"]) == (False, True, False)
    assert row["status"] == ClipStatus.PENDING and row["metadata"] == {}
    assert (row["start_time"], row["end_time"], row["score"], row["rank"]) == (1.25, 6.5, 0.91, 1)


async def test_clip_constraints_refuse_bad_rows() -> None:
    asset_id = await insert_asset(await insert_user())
    insert = (
        "INSERT INTO clips (asset_id, start_time, end_time, duration{}) VALUES ($1, $2, $3, $4{})"
    )
    cases = [
        ((-1.0, 2.0, 3.0), None, "times_are_ordered"),
        ((5.0, 5.0, 0.0), None, "times_are_ordered"),
        ((5.0, 4.0, 1.0), None, "times_are_ordered"),
        ((0.0, 1.0, -1.0), None, "duration_not_negative"),
        ((0.0, 1.0, 1.0), ("face_count", -1), "face_count_not_negative"),
        ((0.0, 1.0, 1.0), ("rank", 0), "rank_is_positive"),
        ((0.0, 1.0, 1.0), ("status", "DONE"), "status_is_valid"),
    ]
    for times, extra, constraint in cases:
        column, value = extra if extra else (None, None)
        sql = insert.format(f", {column}" if column else "", ", $5" if column else "")
        args = [asset_id, *times] + ([value] if column else [])
        await assert_refused(sql, *args, error=asyncpg.CheckViolationError, constraint=constraint)


async def test_prediction_defaults_and_confidence_range() -> None:
    clip_id = await insert_clip(await insert_asset(await insert_user()))
    prediction = Prediction(clip=clip_id, model_version="v1.2.3", predicted_roas=3.2, confidence=1)
    await prediction.save()
    row = await fetchrow(
        "SELECT model_type, features, metadata, actual_roas FROM predictions WHERE id = $1",
        prediction.id,
    )
    assert row["model_type"] == "roas"
    assert json.loads(row["features"]) == {} and json.loads(row["metadata"]) == {}
    assert row["actual_roas"] is None
    for confidence in (-0.01, 1.01):
        await assert_refused(
            "INSERT INTO predictions (clip_id, model_version, confidence) VALUES ($1, 'v1', $2)",
            clip_id,
            confidence,
            error=asyncpg.CheckViolationError,
            constraint="confidence_in_unit_range",
        )


async def test_hard_delete_cascades_user_to_assets_clips_predictions() -> None:
    # given a user with an asset, a clip and a prediction
    user_id = await insert_user()
    asset_id = await insert_asset(user_id)
    clip_id = await insert_clip(asset_id)
    await fetchval(
        "INSERT INTO predictions (clip_id, model_version) VALUES ($1, 'v1') RETURNING id", clip_id
    )
    # when the user is hard-deleted
    await fetchval("DELETE FROM users WHERE id = $1 RETURNING id", user_id)
    # then everything below is gone
    assert await fetchval("SELECT count(*) FROM assets WHERE id = $1", asset_id) == 0
    assert await fetchval("SELECT count(*) FROM clips WHERE id = $1", clip_id) == 0
    assert await fetchval("SELECT count(*) FROM predictions WHERE clip_id = $1", clip_id) == 0


async def test_asset_needs_an_existing_user() -> None:
    import uuid

    await assert_refused(
        "INSERT INTO assets (user_id, filename, original_name, mime_type, file_size, gcs_url,"
        " gcs_bucket, gcs_path) VALUES ($1, 'a', 'a', 'video/mp4', 1, 'gs://b/x', 'b', 'p')",
        uuid.uuid4(),
        error=asyncpg.ForeignKeyViolationError,
    )
