"""Clips: bulk create in one statement, ranking, soft delete / restore / purge."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import pytest

from apps.core.errors import ValidationError
from apps.media import selectors, services
from apps.media.errors import AssetNotFoundError, ClipNotFoundError
from apps.media.selectors import AssetRecord
from apps.media.services import NewClip
from apps.media.tables import Clip, ClipStatus
from apps.users import services as user_services
from piccolo_conf import DB


@pytest.fixture
async def asset() -> AssetRecord:
    owner = await user_services.user_create(email="clips@example.com", name="Clips")
    return await services.asset_register(
        user_id=owner.id,
        filename="a.mp4",
        original_name="a.mp4",
        mime_type="video/mp4",
        file_size=1,
        gcs_url="gs://bucket/a.mp4",
    )


async def _ranks(asset_id: uuid.UUID) -> dict[uuid.UUID, int | None]:
    rows = await Clip.select(Clip.id, Clip.rank).where(Clip.asset == asset_id)
    return {row["id"]: row["rank"] for row in rows}


async def test_clip_bulk_create_inserts_all_clips_in_one_statement(asset: AssetRecord) -> None:
    # given 500 clips
    clips = [
        NewClip(
            start_time=i * 2.0,
            end_time=i * 2.0 + 1.5,
            features={"emotion": "joy"},
            face_count=1,
            has_text=i % 2 == 0,
            score=i / 500,
            status=ClipStatus.SCORED,
            metadata={"i": i},
        )
        for i in range(500)
    ]
    transaction = DB.current_transaction.get()
    assert transaction is not None
    queries: list[str] = []
    # when they are created
    with transaction.connection.query_logger(lambda record: queries.append(record.query)):
        ids = await services.clip_bulk_create(asset_id=asset.id, clips=clips)
        await asyncio.sleep(0)
    # then one statement stored them all, with the ids returned in input order
    assert len(queries) == 1
    assert len(ids) == len(set(ids)) == 500
    stored = await Clip.select(
        Clip.id, Clip.start_time, Clip.duration, Clip.metadata, Clip.has_text, Clip.status
    ).where(Clip.asset == asset.id)
    by_id = {row["id"]: row for row in stored}
    assert [by_id[clip_id]["start_time"] for clip_id in ids] == [c.start_time for c in clips]
    assert by_id[ids[7]]["duration"] == pytest.approx(1.5)
    assert by_id[ids[7]]["metadata"] == '{"i": 7}'
    assert by_id[ids[7]]["status"] == "SCORED"


async def test_clip_bulk_create_writes_nothing_when_one_clip_is_bad(asset: AssetRecord) -> None:
    # given a batch whose fourth clip ends before it starts
    clips = [NewClip(start_time=i, end_time=i + 1) for i in range(3)]
    clips.append(NewClip(start_time=10, end_time=9))
    # when created
    with pytest.raises(ValidationError) as caught:
        await services.clip_bulk_create(asset_id=asset.id, clips=clips)
    # then the error names that clip's field and rule, and no clip was written
    assert (caught.value.field, caught.value.rule) == ("clips[3].end_time", "after_start")
    assert await Clip.count() == 0


@pytest.mark.parametrize(
    ("clip", "field", "rule"),
    [
        (NewClip(start_time=-1, end_time=1), "clips[0].start_time", "min"),
        (NewClip(start_time=0, end_time=float("inf")), "clips[0].end_time", "finite"),
        (NewClip(start_time=0, end_time=1, face_count=-2), "clips[0].face_count", "min"),
        (NewClip(start_time=0, end_time=1, status="DONE"), "clips[0].status", "one_of"),
        (NewClip(start_time=0, end_time=1, score=float("nan")), "clips[0].score", "finite"),
        (NewClip(start_time=0, end_time=1, features={"x": {1}}), "clips[0].features", "json"),
    ],
)
async def test_clip_bulk_create_names_the_bad_field(
    asset: AssetRecord, clip: NewClip, field: str, rule: str
) -> None:
    # given a batch of one bad clip
    # when created
    with pytest.raises(ValidationError) as caught:
        await services.clip_bulk_create(asset_id=asset.id, clips=[clip])
    # then the error names the field and the rule
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert await Clip.count() == 0


async def test_clip_bulk_create_refuses_unknown_and_deleted_assets(asset: AssetRecord) -> None:
    # given a soft-deleted asset
    await services.asset_soft_delete(asset_id=asset.id)
    # when clips are added to it, or to no asset
    # then both are refused and nothing is written
    for asset_id in (asset.id, uuid.uuid4()):
        with pytest.raises(AssetNotFoundError):
            await services.clip_bulk_create(
                asset_id=asset_id, clips=[NewClip(start_time=0, end_time=1)]
            )
    assert await Clip.count() == 0
    # and an empty batch does nothing, an oversized one is refused
    assert await services.clip_bulk_create(asset_id=asset.id, clips=[]) == []
    with pytest.raises(ValidationError) as too_many:
        await services.clip_bulk_create(
            asset_id=asset.id, clips=[NewClip(start_time=0, end_time=1)] * 10_001
        )
    assert (too_many.value.field, too_many.value.rule) == ("clips", "max_items")


async def test_clip_rank_asset_ranks_by_score_with_deterministic_ties(asset: AssetRecord) -> None:
    # given clips with scores 0.5, 0.9, 0.9 (a tie), 0.1 and one unscored
    scores = [0.5, 0.9, 0.9, 0.1, None]
    ids = await services.clip_bulk_create(
        asset_id=asset.id,
        clips=[NewClip(start_time=i, end_time=i + 1, score=s) for i, s in enumerate(scores)],
    )
    # the tied clip created later must rank after the earlier one, whatever their ids
    base = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    for offset, clip_id in enumerate(ids):
        await Clip.update({Clip.created_at: base + datetime.timedelta(seconds=offset)}).where(
            Clip.id == clip_id
        )
    # when the asset is ranked
    ranked = await services.clip_rank_asset(asset_id=asset.id)
    # then rank 1 is the best score, the tie goes to the older clip, the unscored has none
    assert ranked == 4
    assert await _ranks(asset.id) == {ids[1]: 1, ids[2]: 2, ids[0]: 3, ids[3]: 4, ids[4]: None}


async def test_clip_rank_asset_is_one_statement_and_reranks_after_changes(
    asset: AssetRecord,
) -> None:
    # given a ranked asset
    ids = await services.clip_bulk_create(
        asset_id=asset.id,
        clips=[NewClip(start_time=i, end_time=i + 1, score=i / 10) for i in range(4)],
    )
    await services.clip_rank_asset(asset_id=asset.id)
    # when its best clip is deleted and the asset is ranked again (one statement)
    await services.clip_soft_delete(clip_id=ids[3])
    transaction = DB.current_transaction.get()
    assert transaction is not None
    queries: list[str] = []
    with transaction.connection.query_logger(lambda record: queries.append(record.query)):
        await services.clip_rank_asset(asset_id=asset.id)
        await asyncio.sleep(0)
    # then the ranks close up and the deleted clip has none
    assert len(queries) == 1
    assert await _ranks(asset.id) == {ids[2]: 1, ids[1]: 2, ids[0]: 3, ids[3]: None}


async def test_clip_rank_asset_refuses_unknown_and_deleted_assets(asset: AssetRecord) -> None:
    # given a deleted asset
    await services.asset_soft_delete(asset_id=asset.id)
    # when ranking it or no asset
    # then both are not found
    for asset_id in (asset.id, uuid.uuid4()):
        with pytest.raises(AssetNotFoundError):
            await services.clip_rank_asset(asset_id=asset_id)


async def test_clip_soft_delete_restore_and_purge(asset: AssetRecord) -> None:
    # given two clips
    kept, dropped = await services.clip_bulk_create(
        asset_id=asset.id,
        clips=[NewClip(start_time=0, end_time=1), NewClip(start_time=1, end_time=2)],
    )
    # when one is soft-deleted
    await services.clip_soft_delete(clip_id=dropped)
    # then reads hide it, and deleting it again fails
    with pytest.raises(ClipNotFoundError):
        await selectors.clip_get(clip_id=dropped)
    assert [c.id for c in (await selectors.clip_list(asset_id=asset.id)).items] == [kept]
    with pytest.raises(ClipNotFoundError):
        await services.clip_soft_delete(clip_id=dropped)
    # when restored, it is back; restoring a live clip fails
    await services.clip_restore(clip_id=dropped)
    assert (await selectors.clip_get(clip_id=dropped)).id == dropped
    with pytest.raises(ClipNotFoundError):
        await services.clip_restore(clip_id=dropped)
    # when deleted long ago and purged, it is gone
    await services.clip_soft_delete(clip_id=dropped)
    long_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=90)
    await Clip.update({Clip.deleted_at: long_ago}).where(Clip.id == dropped)
    assert await services.clip_purge(older_than=datetime.timedelta(days=30)) == 1
    assert {row["id"] for row in await Clip.select(Clip.id)} == {kept}
