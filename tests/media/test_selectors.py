"""Media reads: gets, keyset lists, top clips, the nested asset read, soft-delete visibility."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from apps.core.errors import ValidationError
from apps.media import selectors, services
from apps.media.errors import AssetNotFoundError, ClipNotFoundError, PredictionNotFoundError
from apps.media.selectors import AssetRecord
from apps.media.services import NewClip
from apps.media.tables import Asset, AssetStatus, Clip, ClipStatus
from apps.users import services as user_services
from apps.users.records import UserRecord
from piccolo_conf import DB


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """The statements sent on the test's connection inside the block."""
    transaction = DB.current_transaction.get()
    assert transaction is not None
    queries: list[str] = []
    with transaction.connection.query_logger(lambda record: queries.append(record.query)):
        yield queries


@pytest.fixture
async def owner() -> AsyncIterator[UserRecord]:
    yield await user_services.user_create(email="reader@example.com", name="Reader")


async def _asset(owner: UserRecord, name: str) -> AssetRecord:
    return await services.asset_register(
        user_id=owner.id,
        filename=f"{name}.mp4",
        original_name=f"{name}.mp4",
        mime_type="video/mp4",
        file_size=1,
        gcs_url=f"gs://bucket/{owner.id}/{name}.mp4",
    )


async def _clips(asset: AssetRecord, count: int, **fields: object) -> list[uuid.UUID]:
    return await services.clip_bulk_create(
        asset_id=asset.id,
        clips=[
            NewClip(start_time=float(i), end_time=i + 0.5, **fields)  # type: ignore[arg-type]
            for i in range(count)
        ],
    )


async def test_asset_list_pages_newest_first_and_filters_by_status(owner: UserRecord) -> None:
    # given 5 assets created a minute apart, two of them processing
    assets = [await _asset(owner, f"a{i}") for i in range(5)]
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i, asset in enumerate(assets):
        await Asset.update({Asset.created_at: base + datetime.timedelta(minutes=i)}).where(
            Asset.id == asset.id
        )
    for asset in assets[1:3]:
        await services.asset_transition(asset_id=asset.id, status=AssetStatus.PROCESSING)
    # when listed 2 at a time, and filtered on PROCESSING
    ids = []
    cursor = None
    while True:
        page = await selectors.asset_list(user_id=owner.id, limit=2, cursor=cursor)
        ids += [asset.id for asset in page.items]
        if (cursor := page.next_cursor) is None:
            break
    processing = await selectors.asset_list(user_id=owner.id, status="PROCESSING")
    # then pages cover every asset once, newest first; the filter keeps the two
    assert ids == [asset.id for asset in reversed(assets)]
    assert [asset.id for asset in processing.items] == [assets[2].id, assets[1].id]


async def test_asset_reads_hide_the_assets_of_a_deleted_user(owner: UserRecord) -> None:
    # given an asset whose owner is soft-deleted
    asset = await _asset(owner, "hidden")
    await user_services.user_soft_delete(user_id=owner.id)
    # when it is read and listed
    # then it is not found, and comes back when the user is restored
    with pytest.raises(AssetNotFoundError):
        await selectors.asset_get(asset_id=asset.id)
    assert (await selectors.asset_list(user_id=owner.id)).items == []
    await user_services.user_restore(user_id=owner.id)
    assert (await selectors.asset_get(asset_id=asset.id)).id == asset.id


async def test_asset_list_refuses_a_cursor_of_another_user_or_status(owner: UserRecord) -> None:
    # given a page of one user's assets with a next cursor, and another user
    for i in range(2):
        await _asset(owner, f"c{i}")
    other = await user_services.user_create(email="other@example.com", name="O")
    page = await selectors.asset_list(user_id=owner.id, limit=1)
    assert page.next_cursor is not None
    # when the cursor is used for the other user, or with a status filter
    # then it is refused as belonging to another list
    for kwargs in ({"user_id": other.id}, {"user_id": owner.id, "status": "READY"}):
        with pytest.raises(ValidationError) as caught:
            await selectors.asset_list(cursor=page.next_cursor, **kwargs)
        assert (caught.value.field, caught.value.rule) == ("cursor", "wrong_list")


async def test_clip_list_pages_in_timeline_order_down_to_a_deep_page(owner: UserRecord) -> None:
    # given an asset with 120 clips, every fourth one analysed
    asset = await _asset(owner, "long")
    ids = await _clips(asset, 120)
    analysed = ids[::4]
    await Clip.update({Clip.status: ClipStatus.ANALYZED}).where(Clip.id.is_in(analysed))
    # when walked 25 at a time, and filtered on ANALYZED
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await selectors.clip_list(asset_id=asset.id, limit=25, cursor=cursor)
        seen += [clip.id for clip in page.items]
        if (cursor := page.next_cursor) is None:
            break
    filtered = await selectors.clip_list(asset_id=asset.id, status=ClipStatus.ANALYZED)
    # then the walk yields every clip once by start_time, and the filter the analysed ones
    assert seen == ids
    assert [clip.id for clip in filtered.items] == analysed


async def test_clip_list_deep_page_uses_the_composite_index(owner: UserRecord) -> None:
    # given an asset with clips and a cursor deep into them
    asset = await _asset(owner, "deep")
    await _clips(asset, 60)
    page = await selectors.clip_list(asset_id=asset.id, limit=50)
    assert page.next_cursor is not None
    # when the next page's query is explained (with fresh statistics, seq scans off: the
    # table is tiny)
    transaction = DB.current_transaction.get()
    assert transaction is not None
    with counted_queries() as queries:
        second = await selectors.clip_list(asset_id=asset.id, limit=50, cursor=page.next_cursor)
        await asyncio.sleep(0)
    await transaction.connection.execute("ANALYZE clips")
    await transaction.connection.execute("SET LOCAL enable_seqscan = off")
    last = page.items[-1]
    plan = await transaction.connection.fetch(
        "EXPLAIN " + queries[0], asset.id, last.start_time, last.id, 51
    )
    # then the row comparison is an index condition of clips_asset_id_start_time_id
    text = "\n".join(row[0] for row in plan)
    assert "clips_asset_id_start_time_id" in text
    index_conditions = [line for line in text.splitlines() if "Index Cond" in line]
    assert any("ROW(start_time, id) > ROW(" in line for line in index_conditions)
    assert len(second.items) == 10


@pytest.mark.parametrize("parent", ["asset", "user"])
async def test_clip_reads_hide_clips_of_a_deleted_parent(owner: UserRecord, parent: str) -> None:
    # given a ranked clip of an asset
    asset = await _asset(owner, "parent")
    (clip_id,) = await _clips(asset, 1, score=0.5)
    await services.clip_rank_asset(asset_id=asset.id)
    # when its asset (or the asset's user) is soft-deleted
    if parent == "asset":
        await services.asset_soft_delete(asset_id=asset.id)
    else:
        await user_services.user_soft_delete(user_id=owner.id)
    # then the clip vanishes from every read
    with pytest.raises(ClipNotFoundError):
        await selectors.clip_get(clip_id=clip_id)
    assert (await selectors.clip_list(asset_id=asset.id)).items == []
    assert (await selectors.clip_list_top(asset_id=asset.id)).items == []
    assert (await selectors.clip_list_top(user_id=owner.id)).items == []
    assert (await selectors.clip_get(clip_id=clip_id, include_deleted=True)).id == clip_id
    # and comes back, as it was, when the parent is restored
    if parent == "asset":
        await services.asset_restore(asset_id=asset.id)
    else:
        await user_services.user_restore(user_id=owner.id)
    assert (await selectors.clip_get(clip_id=clip_id)).rank == 1
    assert [clip.id for clip in (await selectors.clip_list(asset_id=asset.id)).items] == [clip_id]


async def test_clip_list_top_of_an_asset_follows_the_ranks(owner: UserRecord) -> None:
    # given an asset with 5 scored clips and one unscored, ranked
    asset = await _asset(owner, "top")
    ids = await services.clip_bulk_create(
        asset_id=asset.id,
        clips=[
            NewClip(start_time=i, end_time=i + 1, score=score)
            for i, score in enumerate([0.3, 0.9, 0.1, 0.7, 0.5, None])
        ],
    )
    await services.clip_rank_asset(asset_id=asset.id)
    # when the top clips are read two at a time
    first = await selectors.clip_list_top(asset_id=asset.id, limit=2)
    second = await selectors.clip_list_top(asset_id=asset.id, limit=2, cursor=first.next_cursor)
    third = await selectors.clip_list_top(asset_id=asset.id, limit=2, cursor=second.next_cursor)
    # then they come by rank, best first, and the unscored clip is left out
    order = [clip.id for page in (first, second, third) for clip in page.items]
    assert order == [ids[1], ids[3], ids[4], ids[0], ids[2]]
    assert [clip.rank for clip in first.items] == [1, 2]
    assert third.next_cursor is None


async def test_clip_list_top_of_a_user_spans_assets_by_score(owner: UserRecord) -> None:
    # given two assets of the user with scored clips, and another user's better clip
    one = await _asset(owner, "one")
    two = await _asset(owner, "two")
    a = await services.clip_bulk_create(
        asset_id=one.id,
        clips=[NewClip(start_time=0, end_time=1, score=0.8), NewClip(start_time=1, end_time=2)],
    )
    b = await services.clip_bulk_create(
        asset_id=two.id,
        clips=[
            NewClip(start_time=0, end_time=1, score=0.95),
            NewClip(start_time=1, end_time=2, score=0.8),
        ],
    )
    stranger = await user_services.user_create(email="s@example.com", name="S")
    other_asset = await _asset(stranger, "x")
    await services.clip_bulk_create(
        asset_id=other_asset.id, clips=[NewClip(start_time=0, end_time=1, score=1.0)]
    )
    # the two 0.8 clips tie: the one created first comes first
    base = datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC)
    await Clip.update({Clip.created_at: base}).where(Clip.id == b[1])
    await Clip.update({Clip.created_at: base + datetime.timedelta(seconds=1)}).where(
        Clip.id == a[0]
    )
    # when the user's top clips are read one at a time
    seen = []
    cursor = None
    while True:
        page = await selectors.clip_list_top(user_id=owner.id, limit=1, cursor=cursor)
        seen += [clip.id for clip in page.items]
        if (cursor := page.next_cursor) is None:
            break
    # then they come by score across both assets, ties by age; no stranger, no unscored
    assert seen == [b[0], b[1], a[0]]


async def test_clip_list_top_needs_exactly_one_owner() -> None:
    # given nothing
    # when asking for the top clips of both or neither
    # then it is a validation error
    for asset_id, user_id in ((None, None), (uuid.uuid4(), uuid.uuid4())):
        with pytest.raises(ValidationError) as caught:
            await selectors.clip_list_top(asset_id=asset_id, user_id=user_id)
        assert caught.value.rule == "exactly_one"


@pytest.mark.parametrize("clip_count", [1, 20])
async def test_asset_get_with_clips_sends_three_queries_whatever_the_clip_count(
    owner: UserRecord, clip_count: int
) -> None:
    # given an asset with ``clip_count`` clips, each with two predictions, and a deleted clip
    asset = await _asset(owner, f"nested{clip_count}")
    ids = await _clips(asset, clip_count + 1, score=0.5)
    for clip_id in ids:
        for version in ("v1", "v2"):
            await services.prediction_record(
                clip_id=clip_id, model_version=version, predicted_roas=2.0
            )
    await services.clip_soft_delete(clip_id=ids[-1])
    # when the asset is read with its clips and predictions
    with counted_queries() as queries:
        nested = await selectors.asset_get_with_clips(asset_id=asset.id)
        await asyncio.sleep(0)
    # then three queries brought everything, the deleted clip left out
    assert len(queries) == 3
    assert nested.asset.id == asset.id
    assert [entry.clip.id for entry in nested.clips] == ids[:-1]
    assert all(
        sorted(p.model_version for p in clip.predictions) == ["v1", "v2"] for clip in nested.clips
    )


async def test_asset_get_with_clips_matches_predictions_by_id_when_the_clips_moved(
    owner: UserRecord,
) -> None:
    # given the rows of the two nested reads of an asset with three clips, each predicted
    from apps.core import rawsql
    from apps.media.records import ClipSummary, PredictionSummary
    from apps.media.selectors import assets

    asset = await _asset(owner, "moved")
    ids = await _clips(asset, 3, score=0.5)
    for n, clip_id in enumerate(ids):
        for version in ("v1", "v2")[: n + 1]:
            await services.prediction_record(
                clip_id=clip_id, model_version=version, predicted_roas=1.0 + n
            )
    engine = rawsql.engine_of(Asset)
    clips = await rawsql.fetch(engine, assets._NESTED_CLIPS, asset.id, record_class=ClipSummary)
    predictions = await rawsql.fetch(
        engine, assets._NESTED_PREDICTIONS, asset.id, record_class=PredictionSummary
    )
    # when they line up, and when the first clip vanished between the two reads (the
    # positions the predictions carry are then off by one)
    nested = assets._nest(clips, predictions)
    shifted = assets._nest(clips[1:], predictions)
    # then each clip gets its own predictions, in the statement's order, either way
    expected = {clip_id: ["v1", "v2"][: n + 1] for n, clip_id in enumerate(ids)}
    for entries in (nested, shifted):
        for entry in entries:
            assert sorted(p.model_version for p in entry.predictions) == expected[entry.clip.id]
            assert all(p.clip_id == entry.clip.id for p in entry.predictions)
    assert [entry.clip.id for entry in shifted] == ids[1:]
    assert [e.predictions for e in shifted] == [e.predictions for e in nested[1:]]
    assert isinstance(nested[0].predictions, tuple)


async def test_asset_get_with_clips_of_an_asset_without_clips_or_not_live(
    owner: UserRecord,
) -> None:
    # given an asset without clips and a deleted one
    empty = await _asset(owner, "empty")
    gone = await _asset(owner, "gone")
    await services.asset_soft_delete(asset_id=gone.id)
    # when read nested
    nested = await selectors.asset_get_with_clips(asset_id=empty.id)
    # then the empty one has no clips, and the deleted one is not found
    assert nested.clips == []
    with pytest.raises(AssetNotFoundError):
        await selectors.asset_get_with_clips(asset_id=gone.id)


async def test_prediction_get_hides_predictions_of_deleted_clips(owner: UserRecord) -> None:
    # given a prediction whose clip is then deleted
    asset = await _asset(owner, "p")
    (clip_id,) = await _clips(asset, 1)
    prediction = await services.prediction_record(
        clip_id=clip_id, model_version="v1", predicted_ctr=0.01
    )
    await services.clip_soft_delete(clip_id=clip_id)
    # when it is read
    # then it is not found
    with pytest.raises(PredictionNotFoundError):
        await selectors.prediction_get(prediction_id=prediction.id)
