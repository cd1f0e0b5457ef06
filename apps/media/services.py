"""Writes of the media app: assets and their status, clips in bulk and their ranking,
predictions and their actuals, soft delete.

Every write is one SQL statement (so it is atomic on its own) that also checks that the
parent rows are live: a clip is never added to a soft-deleted asset, nor a prediction to a
clip of one.

Asset status transitions (anything else raises InvalidAssetTransitionError):

============  ====================  ==========================================
from          to                    why
============  ====================  ==========================================
PENDING       PROCESSING            the pipeline picked the upload up
PROCESSING    READY                 clips are cut and scored
PROCESSING    FAILED                processing broke (processing_error says why)
FAILED        PROCESSING            retry
READY         ARCHIVED              taken out of use
ARCHIVED      READY                 put back in use
============  ====================  ==========================================

processing_error is required when moving to FAILED and cleared by every other transition.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core import rawsql
from apps.core.errors import ConflictError, ValidationError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.validation import at_least, finite, json_object, not_blank, one_of, validated
from apps.media.errors import (
    AssetNotFoundError,
    ClipNotFoundError,
    GcsUrlTakenError,
    InvalidAssetTransitionError,
    PredictionNotFoundError,
)
from apps.media.selectors import (
    ASSET_COLUMNS,
    LIVE_ASSET,
    PREDICTION_COLUMNS,
    AssetRecord,
    PredictionRecord,
)
from apps.media.tables import Asset, AssetStatus, Clip, ClipStatus, Prediction
from apps.users.errors import UserNotFoundError

# --- assets ------------------------------------------------------------------------------

ASSET_TRANSITIONS: Mapping[AssetStatus, frozenset[AssetStatus]] = {
    AssetStatus.PENDING: frozenset({AssetStatus.PROCESSING}),
    AssetStatus.PROCESSING: frozenset({AssetStatus.READY, AssetStatus.FAILED}),
    AssetStatus.FAILED: frozenset({AssetStatus.PROCESSING}),
    AssetStatus.READY: frozenset({AssetStatus.ARCHIVED}),
    AssetStatus.ARCHIVED: frozenset({AssetStatus.READY}),
}
# Bucket names per Google Cloud Storage's naming rules (lower case, digits, - _ .).
_GCS_URL = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<path>.+)")
_MIME_TYPE = re.compile(r"[a-z]+/[a-zA-Z0-9][a-zA-Z0-9.+_-]*")
_TEXT_MAX = 1024


def _optional_text(value: str | None, *, field: str) -> str | None:
    return None if value is None else not_blank(value, field=field, max_length=_TEXT_MAX)


_INSERT_ASSET = (
    "INSERT INTO assets AS a (id, user_id, filename, original_name, mime_type, file_size, "
    "gcs_url, gcs_bucket, gcs_path, thumbnail_url, duration, fps, width, height, bitrate, "
    "codec, metadata) "
    "SELECT coalesce($17::uuid, gen_random_uuid()), u.id, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10, $11, $12, $13, $14, $15, $16::jsonb "
    "FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL "
    f"RETURNING {ASSET_COLUMNS}"
)


@validated
async def asset_register(
    *,
    user_id: uuid.UUID,
    filename: str,
    original_name: str,
    mime_type: str,
    file_size: int,
    gcs_url: str,
    thumbnail_url: str | None = None,
    duration: float | None = None,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    bitrate: int | None = None,
    codec: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    asset_id: uuid.UUID | None = None,
) -> AssetRecord:
    """Register an uploaded file of a live user, status PENDING. The bucket and the path are
    taken from ``gcs_url`` (``gs://bucket/path``). ``asset_id`` fixes the id (sample data,
    imports); by default the database generates it.

    Raises ValidationError (naming the field), UserNotFoundError and GcsUrlTakenError.
    """
    filename = not_blank(filename, field="filename", max_length=_TEXT_MAX)
    original_name = not_blank(original_name, field="original_name", max_length=_TEXT_MAX)
    mime_type = mime_type.strip().lower()
    if not _MIME_TYPE.fullmatch(mime_type):
        raise ValidationError(
            "mime_type must look like type/subtype", field="mime_type", rule="mime_type"
        )
    at_least(file_size, 0, field="file_size")
    match = _GCS_URL.fullmatch(gcs_url.strip())
    if match is None:
        raise ValidationError(
            "gcs_url must look like gs://bucket/path", field="gcs_url", rule="gs_url"
        )
    values = (
        user_id,
        filename,
        original_name,
        mime_type,
        file_size,
        gcs_url.strip(),
        match["bucket"],
        match["path"],
        _optional_text(thumbnail_url, field="thumbnail_url"),
        finite(duration, field="duration", minimum=0),
        finite(fps, field="fps", minimum=0),
        at_least(width, 0, field="width"),
        at_least(height, 0, field="height"),
        at_least(bitrate, 0, field="bitrate"),
        _optional_text(codec, field="codec"),
        json_object(metadata, field="metadata"),
        asset_id,
    )
    try:
        row = await rawsql.fetchrow(
            rawsql.engine_of(Asset), _INSERT_ASSET, *values, record_class=AssetRecord
        )
    except ConflictError as error:
        raise GcsUrlTakenError(
            "another asset is registered for this gcs_url", field="gcs_url", rule="unique"
        ) from error
    if row is None:
        raise UserNotFoundError(f"user {user_id} not found", field="user_id", rule="exists")
    return row


# Compare-and-set: the row changes only if its status is still one the target may follow,
# so two racing transitions cannot both succeed from the same state.
_TRANSITION_ASSET = (
    "UPDATE assets a SET status = $2, processing_error = $3 "
    f"WHERE a.id = $1 AND a.status = ANY($4::text[]) AND {LIVE_ASSET} "
    f"RETURNING {ASSET_COLUMNS}"
)
_ASSET_STATUS = f"SELECT a.status FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}"


@validated
async def asset_transition(
    *,
    asset_id: uuid.UUID,
    status: AssetStatus | str,
    processing_error: str | None = None,
    expected_status: AssetStatus | str | None = None,
) -> AssetRecord:
    """Move a live asset to ``status`` along an allowed transition (see the module's table).

    With ``expected_status`` the change happens only from that status. ``processing_error``
    is required for FAILED and refused otherwise. Raises InvalidAssetTransitionError,
    AssetNotFoundError and ValidationError.
    """
    target = one_of(AssetStatus, status, field="status")
    if target is AssetStatus.FAILED:
        if processing_error is None or not processing_error.strip():
            raise ValidationError(
                "processing_error is required when an asset fails",
                field="processing_error",
                rule="required_for_failed",
            )
        processing_error = processing_error.strip()
    elif processing_error is not None:
        raise ValidationError(
            "processing_error is only recorded when an asset fails",
            field="processing_error",
            rule="only_for_failed",
        )
    sources = {source for source, targets in ASSET_TRANSITIONS.items() if target in targets}
    if expected_status is not None:
        expected = one_of(AssetStatus, expected_status, field="expected_status")
        if expected not in sources:
            raise InvalidAssetTransitionError(
                f"an asset cannot go from {expected} to {target}",
                current=expected.value,
                requested=target.value,
            )
        sources = {expected}
    source_values = sorted(source.value for source in sources)
    engine = rawsql.engine_of(Asset)
    row = await rawsql.fetchrow(
        engine,
        _TRANSITION_ASSET,
        asset_id,
        target.value,
        processing_error,
        source_values,
        record_class=AssetRecord,
    )
    if row is not None:
        return row
    current = await rawsql.fetchval(engine, _ASSET_STATUS, asset_id)
    if current is None:
        raise AssetNotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    raise InvalidAssetTransitionError(
        f"asset {asset_id} is {current}: it cannot go to {target}"
        + (f" from {expected_status}" if expected_status is not None else ""),
        current=current,
        requested=target.value,
    )


@validated
async def asset_soft_delete(*, asset_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete an asset; its clips and predictions vanish from reads with it.

    Returns the deletion time. Raises AssetNotFoundError.
    """
    return await soft_delete_row(
        Asset, row_id=asset_id, not_found=AssetNotFoundError, field="asset_id", entity="asset"
    )


@validated
async def asset_restore(*, asset_id: uuid.UUID) -> None:
    """Bring a soft-deleted asset back with its clips. Raises AssetNotFoundError."""
    await restore_row(
        Asset, row_id=asset_id, not_found=AssetNotFoundError, field="asset_id", entity="asset"
    )


@validated
async def asset_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete assets soft-deleted more than ``older_than`` ago, with their clips,
    predictions and metrics; return how many assets went."""
    return await purge_rows(Asset, older_than=older_than)


# --- clips -------------------------------------------------------------------------------

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
_BULK_INSERT_CLIPS = f"""
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
"""


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
                rule="after_start_time",
            )
        row = (
            start,
            end,
            _optional_text(clip.clip_url, field=f"{where}.clip_url"),
            _optional_text(clip.thumbnail_url, field=f"{where}.thumbnail_url"),
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
        raise AssetNotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    return ids


# One UPDATE: rank the asset's live scored clips by score (best first, ties by created_at
# then id, so the ranking is the same every time) and clear the rank of the others (deleted
# or unscored). Rows whose rank does not change are not written.
_RANK_CLIPS = f"""
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
"""


@validated
async def clip_rank_asset(*, asset_id: uuid.UUID) -> int:
    """Rank a live asset's clips: rank 1 = highest score; ties go to the older clip, then
    the smaller id. Deleted and unscored clips get no rank. Returns how many were ranked.
    Raises AssetNotFoundError."""
    row = await rawsql.fetchrow(rawsql.engine_of(Clip), _RANK_CLIPS, asset_id)
    assert row is not None
    if row[0] == 0:
        raise AssetNotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    ranked: int = row[1]
    return ranked


@validated
async def clip_soft_delete(*, clip_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a clip (its predictions vanish from reads with it); rank the asset again
    to close the gap. Returns the deletion time. Raises ClipNotFoundError."""
    return await soft_delete_row(
        Clip, row_id=clip_id, not_found=ClipNotFoundError, field="clip_id", entity="clip"
    )


@validated
async def clip_restore(*, clip_id: uuid.UUID) -> None:
    """Bring a soft-deleted clip back. Raises ClipNotFoundError."""
    await restore_row(
        Clip, row_id=clip_id, not_found=ClipNotFoundError, field="clip_id", entity="clip"
    )


@validated
async def clip_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete clips soft-deleted more than ``older_than`` ago, with their predictions;
    return how many clips went."""
    return await purge_rows(Clip, older_than=older_than)


# --- predictions -------------------------------------------------------------------------

METRICS = ("roas", "ctr", "cpc", "cpa", "engagement")
_LIVE_CLIP = f"c.deleted_at IS NULL AND {LIVE_ASSET}"

_INSERT_PREDICTION = (
    "INSERT INTO predictions AS p (id, clip_id, model_version, model_type, predicted_roas, "
    "predicted_ctr, predicted_cpc, predicted_cpa, predicted_engagement, confidence, "
    "features, metadata) "
    "SELECT coalesce($12::uuid, gen_random_uuid()), c.id, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10::jsonb, $11::jsonb "
    "FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.id = $1 AND {_LIVE_CLIP} "
    f"RETURNING {PREDICTION_COLUMNS}"
)


@validated
async def prediction_record(
    *,
    clip_id: uuid.UUID,
    model_version: str,
    model_type: str = "roas",
    predicted_roas: float | None = None,
    predicted_ctr: float | None = None,
    predicted_cpc: float | None = None,
    predicted_cpa: float | None = None,
    predicted_engagement: float | None = None,
    confidence: float | None = None,
    features: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    prediction_id: uuid.UUID | None = None,
) -> PredictionRecord:
    """Record a model's prediction for a live clip (at least one predicted figure).

    Raises ValidationError (naming the field) and ClipNotFoundError.
    """
    predicted = [
        finite(value, field=f"predicted_{metric}")
        for metric, value in zip(
            METRICS,
            (predicted_roas, predicted_ctr, predicted_cpc, predicted_cpa, predicted_engagement),
            strict=True,
        )
    ]
    if all(value is None for value in predicted):
        raise ValidationError(
            "give at least one predicted figure", field="predicted_roas", rule="at_least_one"
        )
    confidence = finite(confidence, field="confidence", minimum=0)
    if confidence is not None and confidence > 1:
        raise ValidationError("confidence must be <= 1", field="confidence", rule="max")
    row = await rawsql.fetchrow(
        rawsql.engine_of(Prediction),
        _INSERT_PREDICTION,
        clip_id,
        not_blank(model_version, field="model_version", max_length=100),
        not_blank(model_type, field="model_type", max_length=100),
        *predicted,
        confidence,
        json_object(features, field="features"),
        json_object(metadata, field="metadata"),
        prediction_id,
        record_class=PredictionRecord,
    )
    if row is None:
        raise ClipNotFoundError(f"clip {clip_id} not found", field="clip_id", rule="exists")
    return row


# A new actual replaces the stored one; an actual not given keeps its stored value. In SET,
# p.* are the values before the update, so the error is computed from the new actuals.
_FILL_ACTUALS = (
    "UPDATE predictions p SET "
    + ", ".join(
        f"actual_{metric} = COALESCE(${n}, p.actual_{metric})"
        for n, metric in enumerate(METRICS, start=2)
    )
    + ", prediction_error = (SELECT avg(abs(v.predicted - v.actual)) FROM (VALUES "
    + ", ".join(
        f"(p.predicted_{metric}, COALESCE(${n}, p.actual_{metric}))"
        for n, metric in enumerate(METRICS, start=2)
    )
    + ") AS v(predicted, actual) WHERE v.predicted IS NOT NULL AND v.actual IS NOT NULL) "
    "FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE p.id = $1 AND c.id = p.clip_id AND {_LIVE_CLIP} "
    f"RETURNING {PREDICTION_COLUMNS}"
)


@validated
async def prediction_fill_actuals(
    *,
    prediction_id: uuid.UUID,
    actual_roas: float | None = None,
    actual_ctr: float | None = None,
    actual_cpc: float | None = None,
    actual_cpa: float | None = None,
    actual_engagement: float | None = None,
) -> PredictionRecord:
    """Record the actual figures of a prediction and compute its prediction_error.

    prediction_error is the mean absolute error over the metrics that have both a
    predicted and an actual figure: mean(|predicted_m - actual_m|), unweighted and in each
    metric's own unit (so it is most meaningful per model_type, which predicts one kind of
    figure); NULL while no metric has both. Actuals not given keep their stored value.
    Raises ValidationError and PredictionNotFoundError.
    """
    actuals = [
        finite(value, field=f"actual_{metric}")
        for metric, value in zip(
            METRICS,
            (actual_roas, actual_ctr, actual_cpc, actual_cpa, actual_engagement),
            strict=True,
        )
    ]
    if all(value is None for value in actuals):
        raise ValidationError(
            "give at least one actual figure", field="actual_roas", rule="at_least_one"
        )
    row = await rawsql.fetchrow(
        rawsql.engine_of(Prediction),
        _FILL_ACTUALS,
        prediction_id,
        *actuals,
        record_class=PredictionRecord,
    )
    if row is None:
        raise PredictionNotFoundError(
            f"prediction {prediction_id} not found", field="prediction_id", rule="exists"
        )
    return row
