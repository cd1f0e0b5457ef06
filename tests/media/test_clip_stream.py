"""clip_stream: every live clip in (created_at, id) order, a page at any depth for the same cost."""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest

from apps.core.errors import ValidationError
from apps.media import selectors, services
from apps.media.selectors import clips as clip_selectors
from apps.media.services import NewClip
from apps.users import services as user_services
from tests.core.statements import count_statements
from tests.helpers import connection

PAGE = 3
DEPTH = 1000  # pages


async def _stream_plan(after: tuple[Any, Any]) -> dict[str, Any]:
    raw = await connection().fetchval(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {clip_selectors._CLIP_STREAM}", *after, PAGE
    )
    plan: dict[str, Any] = json.loads(raw)[0]["Plan"]
    return plan


async def test_clip_stream_reads_every_live_clip_once_in_order_at_flat_cost() -> None:
    # given two assets with 3,100 clips, one clip soft-deleted and one asset soft-deleted
    owner = await user_services.user_create(email="stream@example.com", name="Stream")
    assets = [
        await services.asset_register(
            user_id=owner.id,
            filename=f"{n}.mp4",
            original_name=f"{n}.mp4",
            mime_type="video/mp4",
            file_size=1,
            gcs_url=f"gs://bucket/{n}.mp4",
        )
        for n in range(2)
    ]
    kept = await services.clip_bulk_create(
        asset_id=assets[0].id,
        clips=[NewClip(start_time=i, end_time=i + 1.0) for i in range(3_100)],
    )
    await services.clip_bulk_create(
        asset_id=assets[1].id, clips=[NewClip(start_time=0, end_time=1.0)]
    )
    await services.clip_soft_delete(clip_id=kept[5])
    await services.asset_soft_delete(asset_id=assets[1].id)
    await connection().execute("ANALYZE clips")
    # when the whole table is streamed, 500 rows per statement
    with count_statements() as statements:
        streamed = [clip async for clip in selectors.clip_stream(page=500)]
    # then every live clip comes once, in (created_at, id) order, 500 per statement
    live = set(kept) - {kept[5]}
    assert {c.id for c in streamed} >= live and kept[5] not in {c.id for c in streamed}
    assert assets[1].id not in {c.asset_id for c in streamed}
    assert len(statements) == len(streamed) // 500 + 1
    keys = [(c.created_at, c.id) for c in streamed]
    assert keys == sorted(keys)

    # and the pages near 1,000 (of 3 rows) cost what the first pages cost: an index range
    # scan each. Ten pages on each side, compared by median: one page whose 3 rows straddle
    # two heap or leaf pages reads a few buffers more wherever it is (in full-suite runs a
    # single deep page once read 11 buffers against 7, and 17 against 9).
    async def buffers(after: tuple[Any, Any]) -> float:
        plan = await _stream_plan(after)
        assert plan["Actual Rows"] == PAGE
        return float(plan["Shared Hit Blocks"] + plan.get("Shared Read Blocks", 0))

    starts = [selectors.STREAM_START, *(keys[PAGE * n - 1] for n in range(1, 10))]
    deep_starts = [keys[PAGE * n - 1] for n in range(DEPTH - 10, DEPTH)]
    await buffers(deep_starts[0])  # warm-up: the first visit may set hint bits
    shallow = statistics.median([await buffers(after) for after in starts])
    deep_cost = statistics.median([await buffers(after) for after in deep_starts])
    assert deep_cost <= 1.2 * shallow + 2, (shallow, deep_cost)
    deep = await _stream_plan(deep_starts[-1])
    assert "clips_created_at_id" in json.dumps(deep)


@pytest.mark.parametrize("page", [0, -1, 10_001, True])
async def test_clip_stream_refuses_a_bad_page_size(page: int) -> None:
    with pytest.raises(ValidationError) as error:
        [clip async for clip in selectors.clip_stream(page=page)]
    assert (error.value.field, error.value.rule) == ("page", "range")
