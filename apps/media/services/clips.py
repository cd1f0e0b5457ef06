"""Writes of clips: add them in bulk, rank an asset's clips, soft delete, restore, purge.

Each write is one SQL statement (atomic on its own) that also checks that the parent asset
is live: a clip is never added to a soft-deleted asset (or to one of a deleted user). The
bulk insert and the ranking are hot paths (``bench/``), so their SQL is written out.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.validation import at_least, finite, json_object, one_of, validated
from apps.media.errors import AssetNotFoundError, ClipNotFoundError, not_found
from apps.media.selectors.assets import LIVE_ASSET
from apps.media.services.assets import optional_text
from apps.media.tables import Clip, ClipStatus

MAX_CLIPS_PER_BATCH = 10_000
# A StrEnum member hashes as its value: one lookup accepts both (checked per clip, so cheap).
_CLIP_STATUS_VALUES: dict[str, str] = {status.value: status.value for status in ClipStatus}


@dataclass(frozen=True, slots=True)
class NewClip:
    """A clip to add with :func:`clip_bulk_create`; duration is end_time - start_time."""

    start_time: float
    end_time: float
    clip_url: str | None = None
    thumbnail_url: str | None = None
    features: Mapping[str, Any] = field(default_factory=dict)
    face_count: int | None = None
    has_text: bool = False
    has_speech: bool = False
    has_music: bool = False
    score: float | None = None
    viral_score: float | None = None
    engagement_score: float | None = None
    brand_safety_score: float | None = None
    status: ClipStatus | str = ClipStatus.PENDING
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: uuid.UUID | None = None  # fixed id (sample data, imports); new by default


# One statement whatever the batch size: the columns travel as arrays and unnest() turns
# them back into rows, so the statement is prepared once and reused; the asset check is a
# join, so a batch for an asset that is not live inserts nothing.
_BULK_INSERT_CLIPS = rawsql.statement(
    f"""
WITH inserted AS (
    INSERT INTO clips (id, asset_id, start_time, end_time, duration, clip_url, thumbnail_url,
                       features, face_count, has_text, has_speech, has_music, score,
                       viral_score, engagement_score, brand_safety_score, status, metadata)
    SELECT t.id, a.id, t.start_time, t.end_time, t.end_time - t.start_time, t.clip_url,
           t.thumbnail_url, t.features::jsonb, t.face_count, t.has_text, t.has_speech,
           t.has_music, t.score, t.viral_score, t.engagement_score, t.brand_safety_score,
           t.status, t.metadata::jsonb
    FROM (SELECT a.id FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}) AS a
    CROSS JOIN unnest($2::uuid[], $3::float8[], $4::float8[], $5::text[], $6::text[],
                      $7::text[], $8::int4[], $9::bool[], $10::bool[], $11::bool[],
                      $12::float8[], $13::float8[], $14::float8[], $15::float8[],
                      $16::text[], $17::text[])
        AS t(id, start_time, end_time, clip_url, thumbnail_url, features, face_count,
             has_text, has_speech, has_music, score, viral_score, engagement_score,
             brand_safety_score, status, metadata)
    RETURNING 1
)
SELECT count(*) FROM inserted
""",
    owner=__name__,
)


def _clip_columns(clips: Sequence[NewClip]) -> tuple[list[uuid.UUID], list[list[Any]]]:
    """New ids and the checked values of ``clips``, one list per column of the insert."""
    columns: list[list[Any]] = [[] for _ in range(15)]
    ids: list[uuid.UUID] = []
    for index, clip in enumerate(clips):
        where = f"clips[{index}]"
        start = finite(clip.start_time, field=f"{where}.start_time", minimum=0)
        end = finite(clip.end_time, field=f"{where}.end_time")
        if start is None or end is None:
            raise ValidationError(
                f"{where}: start_time and end_time are required",
                field=f"{where}.start_time",
                rule="required",
            )
        if end <= start:
            raise ValidationError(
                f"{where}.end_time must be after start_time",
                field=f"{where}.end_time",
                rule="after_start",
            )
        row = (
            start,
            end,
            optional_text(clip.clip_url, field=f"{where}.clip_url"),
            optional_text(clip.thumbnail_url, field=f"{where}.thumbnail_url"),
            json_object(clip.features, field=f"{where}.features"),
            at_least(clip.face_count, 0, field=f"{where}.face_count"),
            bool(clip.has_text),
            bool(clip.has_speech),
            bool(clip.has_music),
            finite(clip.score, field=f"{where}.score"),
            finite(clip.viral_score, field=f"{where}.viral_score"),
            finite(clip.engagement_score, field=f"{where}.engagement_score"),
            finite(clip.brand_safety_score, field=f"{where}.brand_safety_score"),
            _CLIP_STATUS_VALUES.get(clip.status)
            or one_of(ClipStatus, clip.status, field=f"{where}.status").value,
            json_object(clip.metadata, field=f"{where}.metadata"),
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        ids.append(clip.id or uuid.uuid4())
    return ids, columns


@validated
async def clip_bulk_create(*, asset_id: uuid.UUID, clips: Sequence[NewClip]) -> list[uuid.UUID]:
    """Add clips to a live asset in one statement (all or none); return their ids in the
    order given. Every clip is checked first: a ValidationError names the clip by its
    index (``clips[3].end_time``) and nothing is written. Raises AssetNotFoundError."""
    if len(clips) > MAX_CLIPS_PER_BATCH:
        raise ValidationError(
            f"at most {MAX_CLIPS_PER_BATCH} clips per call", field="clips", rule="max_items"
        )
    if not clips:
        return []
    ids, columns = _clip_columns(clips)
    inserted = await rawsql.fetchval(
        rawsql.engine_of(Clip), _BULK_INSERT_CLIPS, asset_id, ids, *columns
    )
    if inserted == 0:
        raise not_found(AssetNotFoundError, "asset", asset_id)
    return ids


# One UPDATE: rank the asset's live scored clips by score (best first, ties by created_at
# then id, so the ranking is the same every time) and clear the rank of the others (deleted
# or unscored). Rows whose rank does not change are not written.
_RANK_CLIPS = rawsql.statement(
    f"""
WITH asset AS (
    SELECT a.id FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}
), ranked AS (
    SELECT c.id, row_number() OVER (ORDER BY c.score DESC, c.created_at, c.id)::int AS rank
    FROM clips c JOIN asset ON c.asset_id = asset.id
    WHERE c.deleted_at IS NULL AND c.score IS NOT NULL
), target AS (
    SELECT c.id, ranked.rank
    FROM clips c JOIN asset ON c.asset_id = asset.id LEFT JOIN ranked ON ranked.id = c.id
), changed AS (
    UPDATE clips SET rank = target.rank FROM target
    WHERE clips.id = target.id AND clips.rank IS DISTINCT FROM target.rank
    RETURNING 1
)
SELECT (SELECT count(*) FROM asset), (SELECT count(*) FROM ranked)
""",
    owner=__name__,
)


@validated
async def clip_rank_asset(*, asset_id: uuid.UUID) -> int:
    """Rank a live asset's clips: rank 1 = highest score; ties go to the older clip, then
    the smaller id. Deleted and unscored clips get no rank. Returns how many were ranked.
    Raises AssetNotFoundError."""
    row = await rawsql.fetchrow(rawsql.engine_of(Clip), _RANK_CLIPS, asset_id)
    assert row is not None
    if row[0] == 0:
        raise not_found(AssetNotFoundError, "asset", asset_id)
    ranked: int = row[1]
    return ranked


_CLIP_ROWS: dict[str, Any] = {"not_found": ClipNotFoundError, "field": "clip_id", "entity": "clip"}


@validated
async def clip_soft_delete(*, clip_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a clip (its predictions vanish from reads with it); rank the asset again
    to close the gap. Returns the deletion time. Raises ClipNotFoundError."""
    return await soft_delete_row(Clip, row_id=clip_id, **_CLIP_ROWS)


@validated
async def clip_restore(*, clip_id: uuid.UUID) -> None:
    """Bring a soft-deleted clip back. Raises ClipNotFoundError."""
    await restore_row(Clip, row_id=clip_id, **_CLIP_ROWS)


@validated
async def clip_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete clips soft-deleted more than ``older_than`` ago, with their predictions;
    return how many clips went."""
    return await purge_rows(Clip, older_than=older_than)
