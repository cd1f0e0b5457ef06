"""Reads of the media app: assets, clips, predictions and the model accuracy report.

Default reads hide soft-deleted rows and the rows whose parent is soft-deleted: an asset of a
deleted user, a clip of a deleted asset (or of a deleted user's asset), the predictions of
such clips. Lists are keyset-paginated with signed cursors (:mod:`apps.core.pagination`);
the index serving each one is named next to its SQL. The SQL is written out, see
:mod:`apps.core.rawsql` for why.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.keyset import cursor_after, keyset_page
from apps.core.pagination import Page, page_size
from apps.core.records import Column, EnumColumn, JsonColumn, Row
from apps.core.validation import one_of, validated
from apps.media.errors import AssetNotFoundError, ClipNotFoundError, PredictionNotFoundError
from apps.media.tables import Asset, AssetStatus, Clip, ClipStatus, Prediction
from apps.users.selectors import user_is_live

# --- records -----------------------------------------------------------------------------


class AssetRecord(Row):
    """An uploaded video asset."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    user_id = Column[uuid.UUID]()
    filename = Column[str]()
    original_name = Column[str]()
    mime_type = Column[str]()
    file_size = Column[int]()
    gcs_url = Column[str]()
    gcs_bucket = Column[str]()
    gcs_path = Column[str]()
    thumbnail_url = Column[str | None]()
    duration = Column[float | None]()
    fps = Column[float | None]()
    width = Column[int | None]()
    height = Column[int | None]()
    bitrate = Column[int | None]()
    codec = Column[str | None]()
    status = EnumColumn(AssetStatus)
    processing_error = Column[str | None]()
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()
    deleted_at = Column[datetime.datetime | None]()


class ClipRecord(Row):
    """A clip cut from an asset, with its AI features and scores; rank 1 is the best."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    asset_id = Column[uuid.UUID]()
    start_time = Column[float]()
    end_time = Column[float]()
    duration = Column[float]()
    clip_url = Column[str | None]()
    thumbnail_url = Column[str | None]()
    features = JsonColumn()
    face_count = Column[int | None]()
    has_text = Column[bool]()
    has_speech = Column[bool]()
    has_music = Column[bool]()
    score = Column[float | None]()
    viral_score = Column[float | None]()
    engagement_score = Column[float | None]()
    brand_safety_score = Column[float | None]()
    rank = Column[int | None]()
    status = EnumColumn(ClipStatus)
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()
    deleted_at = Column[datetime.datetime | None]()


class PredictionRecord(Row):
    """An ML prediction for a clip, with the actual figures once the campaign has run."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    clip_id = Column[uuid.UUID]()
    model_version = Column[str]()
    model_type = Column[str]()
    predicted_roas = Column[float | None]()
    predicted_ctr = Column[float | None]()
    predicted_cpc = Column[float | None]()
    predicted_cpa = Column[float | None]()
    predicted_engagement = Column[float | None]()
    actual_roas = Column[float | None]()
    actual_ctr = Column[float | None]()
    actual_cpc = Column[float | None]()
    actual_cpa = Column[float | None]()
    actual_engagement = Column[float | None]()
    features = JsonColumn()
    confidence = Column[float | None]()
    prediction_error = Column[float | None]()
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()


class ClipSummary(Row):
    """A clip's timing, scores and rank, as the nested asset read returns it."""

    __slots__ = ()
    id = Column[uuid.UUID]()
    start_time = Column[float]()
    end_time = Column[float]()
    duration = Column[float]()
    clip_url = Column[str | None]()
    thumbnail_url = Column[str | None]()
    score = Column[float | None]()
    viral_score = Column[float | None]()
    engagement_score = Column[float | None]()
    brand_safety_score = Column[float | None]()
    rank = Column[int | None]()
    status = EnumColumn(ClipStatus)


class PredictionSummary(Row):
    """The figures of a prediction, as the nested asset read returns them (no JSON)."""

    __slots__ = ()
    clip_id = Column[uuid.UUID]()
    id = Column[uuid.UUID]()
    model_version = Column[str]()
    model_type = Column[str]()
    predicted_roas = Column[float | None]()
    predicted_ctr = Column[float | None]()
    predicted_cpc = Column[float | None]()
    predicted_cpa = Column[float | None]()
    predicted_engagement = Column[float | None]()
    actual_roas = Column[float | None]()
    actual_ctr = Column[float | None]()
    actual_cpc = Column[float | None]()
    actual_cpa = Column[float | None]()
    actual_engagement = Column[float | None]()
    confidence = Column[float | None]()
    prediction_error = Column[float | None]()
    created_at = Column[datetime.datetime]()


@dataclass(frozen=True, slots=True)
class ClipWithPredictions:
    """A live clip and its predictions (oldest first)."""

    clip: ClipSummary
    predictions: list[PredictionSummary]


@dataclass(frozen=True, slots=True)
class AssetWithClips:
    """An asset, its live clips in timeline order, and each clip's predictions."""

    asset: AssetRecord
    clips: list[ClipWithPredictions]


class ModelAccuracy(Row):
    """How well one model version predicted: ``mean_error`` is the mean prediction_error
    (itself the MAE of one prediction, see ``prediction_fill_actuals``) over the
    ``evaluated`` predictions that have actuals; None when there are none yet."""

    __slots__ = ()
    model_version = Column[str]()
    predictions = Column[int]()
    evaluated = Column[int]()
    mean_error = Column[float | None]()


ASSET_COLUMNS = (
    "a.id, a.user_id, a.filename, a.original_name, a.mime_type, a.file_size, a.gcs_url, "
    "a.gcs_bucket, a.gcs_path, a.thumbnail_url, a.duration, a.fps, a.width, a.height, "
    "a.bitrate, a.codec, a.status, a.processing_error, a.metadata, a.created_at, "
    "a.updated_at, a.deleted_at"
)
CLIP_COLUMNS = (
    "c.id, c.asset_id, c.start_time, c.end_time, c.duration, c.clip_url, c.thumbnail_url, "
    "c.features, c.face_count, c.has_text, c.has_speech, c.has_music, c.score, "
    "c.viral_score, c.engagement_score, c.brand_safety_score, c.rank, c.status, c.metadata, "
    "c.created_at, c.updated_at, c.deleted_at"
)
PREDICTION_COLUMNS = (
    "p.id, p.clip_id, p.model_version, p.model_type, p.predicted_roas, p.predicted_ctr, "
    "p.predicted_cpc, p.predicted_cpa, p.predicted_engagement, p.actual_roas, p.actual_ctr, "
    "p.actual_cpc, p.actual_cpa, p.actual_engagement, p.features, p.confidence, "
    "p.prediction_error, p.metadata, p.created_at, p.updated_at"
)


# Visibility: a live asset belongs to a live user; a live clip to a live asset.
LIVE_ASSET = "a.deleted_at IS NULL AND " + user_is_live("a.user_id")


def asset_is_live(asset_id: str) -> str:
    """The SQL condition "the asset ``asset_id`` is live": not soft-deleted, owner live.

    The media app's one definition of a live asset, for the SQL of other apps (ads) whose
    rows hang off an asset; ``asset_id`` is a column reference or a ``$n`` parameter.
    """
    return (
        "EXISTS (SELECT 1 FROM assets live_a WHERE live_a.id = "
        f"{asset_id} AND live_a.deleted_at IS NULL AND {user_is_live('live_a.user_id')})"
    )


LIVE_CLIP_ASSETS = (
    "(SELECT c.id AS clip_id, c.asset_id FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.deleted_at IS NULL AND {LIVE_ASSET})"
)
"""A derived table (``clip_id``, ``asset_id``) of the live clips and their assets, for the
SQL of other apps that follow a clip to its asset: ``JOIN {LIVE_CLIP_ASSETS} lc ON ...``."""

# --- assets ------------------------------------------------------------------------------

_ASSET_BY_ID = f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}"
_ASSET_BY_ID_ANY = f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = $1"


@validated
async def asset_get(*, asset_id: uuid.UUID, include_deleted: bool = False) -> AssetRecord:
    """The asset with this id; AssetNotFoundError when absent or (by default) not live."""
    sql = _ASSET_BY_ID_ANY if include_deleted else _ASSET_BY_ID
    row = await rawsql.fetchrow(rawsql.engine_of(Asset), sql, asset_id, record_class=AssetRecord)
    if row is None:
        raise AssetNotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    return row


def _asset_list_sql(*, after: bool) -> str:
    # Newest first; served by assets_user_id_created_at_id (user_id, created_at, id).
    keyset = "AND (a.created_at, a.id) < ($4, $5) " if after else ""
    return (
        f"SELECT {ASSET_COLUMNS} FROM assets a "
        f"WHERE a.user_id = $1 AND {LIVE_ASSET} AND ($2::text IS NULL OR a.status = $2) "
        f"{keyset}ORDER BY a.created_at DESC, a.id DESC LIMIT $3"
    )


_ASSET_LIST = {after: _asset_list_sql(after=after) for after in (False, True)}


@validated
async def asset_list(
    *,
    user_id: uuid.UUID,
    status: AssetStatus | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[AssetRecord]:
    """A live user's live assets, newest first (empty when the user is not live)."""
    size = page_size(limit)
    status_value = one_of(AssetStatus, status, field="status").value if status else None
    list_name = f"media.asset_list:{user_id}:{status_value}"
    args: list[Any] = [user_id, status_value, size + 1]
    if cursor is not None:
        args += cursor_after(cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID))
    rows = await rawsql.fetch(
        rawsql.engine_of(Asset), _ASSET_LIST[cursor is not None], *args, record_class=AssetRecord
    )
    return keyset_page(
        rows,
        limit=size,
        list_name=list_name,
        key=lambda asset: (asset.created_at, asset.id),
    )


# --- clips -------------------------------------------------------------------------------

_LIVE_PARENT_ASSET = f"EXISTS (SELECT 1 FROM assets a WHERE a.id = $1 AND {LIVE_ASSET})"
_CLIP_BY_ID = (
    f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.id = $1 AND c.deleted_at IS NULL AND {LIVE_ASSET}"
)
_CLIP_BY_ID_ANY = f"SELECT {CLIP_COLUMNS} FROM clips c WHERE c.id = $1"


@validated
async def clip_get(*, clip_id: uuid.UUID, include_deleted: bool = False) -> ClipRecord:
    """The clip with this id; ClipNotFoundError when absent or (by default) not live."""
    sql = _CLIP_BY_ID_ANY if include_deleted else _CLIP_BY_ID
    row = await rawsql.fetchrow(rawsql.engine_of(Clip), sql, clip_id, record_class=ClipRecord)
    if row is None:
        raise ClipNotFoundError(f"clip {clip_id} not found", field="clip_id", rule="exists")
    return row


def _clip_list_sql(*, after: bool) -> str:
    # Timeline order; served by clips_asset_id_start_time_id (asset_id, start_time, id).
    # The parent check does not depend on the clip row: PostgreSQL runs it once.
    keyset = "AND (c.start_time, c.id) > ($4, $5) " if after else ""
    return (
        f"SELECT {CLIP_COLUMNS} FROM clips c "
        f"WHERE c.asset_id = $1 AND c.deleted_at IS NULL AND {_LIVE_PARENT_ASSET} "
        f"AND ($2::text IS NULL OR c.status = $2) "
        f"{keyset}ORDER BY c.start_time, c.id LIMIT $3"
    )


_CLIP_LIST = {after: _clip_list_sql(after=after) for after in (False, True)}


@validated
async def clip_list(
    *,
    asset_id: uuid.UUID,
    status: ClipStatus | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ClipRecord]:
    """A live asset's live clips in timeline order (empty when the asset is not live)."""
    size = page_size(limit)
    status_value = one_of(ClipStatus, status, field="status").value if status else None
    list_name = f"media.clip_list:{asset_id}:{status_value}"
    args: list[Any] = [asset_id, status_value, size + 1]
    if cursor is not None:
        args += cursor_after(cursor, list_name=list_name, types=(float, uuid.UUID))
    rows = await rawsql.fetch(
        rawsql.engine_of(Clip), _CLIP_LIST[cursor is not None], *args, record_class=ClipRecord
    )
    return keyset_page(
        rows,
        limit=size,
        list_name=list_name,
        key=lambda clip: (clip.start_time, clip.id),
    )


def _top_of_asset_sql(*, after: bool) -> str:
    # Best rank first; served by clips_asset_id_rank (asset_id, rank, id).
    keyset = "AND (c.rank, c.id) > ($3, $4) " if after else ""
    return (
        f"SELECT {CLIP_COLUMNS} FROM clips c "
        f"WHERE c.asset_id = $1 AND c.rank IS NOT NULL AND c.deleted_at IS NULL "
        f"AND {_LIVE_PARENT_ASSET} {keyset}ORDER BY c.rank, c.id LIMIT $2"
    )


def _top_of_user_sql(*, after: bool) -> str:
    # Ranks are per asset, so across a user's assets the order is the one ranking uses:
    # score descending, ties by created_at then id. The user's assets come from
    # assets_user_id, their clips from clips_asset_id; the sort is a top-N sort.
    keyset = (
        "AND (c.score < $3 OR (c.score = $3 AND (c.created_at, c.id) > ($4, $5))) " if after else ""
    )
    return (
        f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id "
        f"WHERE a.user_id = $1 AND {LIVE_ASSET} AND c.deleted_at IS NULL "
        f"AND c.score IS NOT NULL {keyset}"
        "ORDER BY c.score DESC, c.created_at, c.id LIMIT $2"
    )


_TOP_OF_ASSET = {after: _top_of_asset_sql(after=after) for after in (False, True)}
_TOP_OF_USER = {after: _top_of_user_sql(after=after) for after in (False, True)}


@validated
async def clip_list_top(
    *,
    asset_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ClipRecord]:
    """The best clips of one asset (by rank, 1 first; unranked clips left out) or of all a
    user's assets (by score, best first; unscored clips left out). Give exactly one of
    ``asset_id`` and ``user_id``."""
    if (asset_id is None) == (user_id is None):
        raise ValidationError(
            "give exactly one of asset_id and user_id", field="asset_id", rule="exactly_one"
        )
    size = page_size(limit)
    engine = rawsql.engine_of(Clip)
    if asset_id is not None:
        list_name = f"media.clip_list_top:asset:{asset_id}"
        args: list[Any] = [asset_id, size + 1]
        if cursor is not None:
            args += cursor_after(cursor, list_name=list_name, types=(int, uuid.UUID))
        clips = await rawsql.fetch(
            engine, _TOP_OF_ASSET[cursor is not None], *args, record_class=ClipRecord
        )
        return keyset_page(
            clips, limit=size, list_name=list_name, key=lambda clip: (clip.rank, clip.id)
        )
    list_name = f"media.clip_list_top:user:{user_id}"
    args = [user_id, size + 1]
    if cursor is not None:
        args += cursor_after(
            cursor, list_name=list_name, types=(float, datetime.datetime, uuid.UUID)
        )
    rows = await rawsql.fetch(
        engine, _TOP_OF_USER[cursor is not None], *args, record_class=ClipRecord
    )
    return keyset_page(
        rows,
        limit=size,
        list_name=list_name,
        key=lambda clip: (clip.score, clip.created_at, clip.id),
    )


# --- nested read -------------------------------------------------------------------------

_NESTED_CLIPS = (
    "SELECT c.id, c.start_time, c.end_time, c.duration, c.clip_url, c.thumbnail_url, "
    "c.score, c.viral_score, c.engagement_score, c.brand_safety_score, c.rank, c.status "
    "FROM clips c WHERE c.asset_id = $1 AND c.deleted_at IS NULL ORDER BY c.start_time, c.id"
)
_NESTED_PREDICTIONS = (
    "SELECT p.clip_id, p.id, p.model_version, p.model_type, p.predicted_roas, "
    "p.predicted_ctr, p.predicted_cpc, p.predicted_cpa, p.predicted_engagement, "
    "p.actual_roas, p.actual_ctr, p.actual_cpc, p.actual_cpa, p.actual_engagement, "
    "p.confidence, p.prediction_error, p.created_at "
    "FROM predictions p JOIN clips c ON c.id = p.clip_id "
    "WHERE c.asset_id = $1 AND c.deleted_at IS NULL ORDER BY p.created_at, p.id"
)


@validated
async def asset_get_with_clips(*, asset_id: uuid.UUID) -> AssetWithClips:
    """A live asset, its live clips and every clip's predictions, in at most three queries
    whatever the number of clips (asset; clips; predictions of all those clips), on one
    connection. AssetNotFoundError when the asset is not live."""
    engine = rawsql.engine_of(Asset)
    async with rawsql.connection(engine) as conn:
        asset = await conn.fetchrow(_ASSET_BY_ID, asset_id, record_class=AssetRecord)
        if asset is None:
            raise AssetNotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
        clip_rows = await conn.fetch(_NESTED_CLIPS, asset_id, record_class=ClipSummary)
        # Without clips there are no predictions to ask for.
        prediction_rows = (
            await conn.fetch(_NESTED_PREDICTIONS, asset_id, record_class=PredictionSummary)
            if clip_rows
            else []
        )
    predictions: dict[uuid.UUID, list[PredictionSummary]] = {row.id: [] for row in clip_rows}
    for prediction in prediction_rows:
        # A clip created between the two reads has predictions but no entry: skip them.
        siblings = predictions.get(prediction.clip_id)
        if siblings is not None:
            siblings.append(prediction)
    return AssetWithClips(
        asset=asset,
        clips=[ClipWithPredictions(clip=row, predictions=predictions[row.id]) for row in clip_rows],
    )


# --- predictions -------------------------------------------------------------------------

_PREDICTION_BY_ID = (
    f"SELECT {PREDICTION_COLUMNS} FROM predictions p JOIN clips c ON c.id = p.clip_id "
    f"JOIN assets a ON a.id = c.asset_id "
    f"WHERE p.id = $1 AND c.deleted_at IS NULL AND {LIVE_ASSET}"
)


@validated
async def prediction_get(*, prediction_id: uuid.UUID) -> PredictionRecord:
    """The prediction with this id; PredictionNotFoundError when absent or its clip not live."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(Prediction),
        _PREDICTION_BY_ID,
        prediction_id,
        record_class=PredictionRecord,
    )
    if row is None:
        raise PredictionNotFoundError(
            f"prediction {prediction_id} not found", field="prediction_id", rule="exists"
        )
    return row


_ACCURACY_REPORT = (
    "SELECT p.model_version, count(*) AS predictions, count(p.prediction_error) AS evaluated, "
    "avg(p.prediction_error) AS mean_error "
    "FROM predictions p JOIN clips c ON c.id = p.clip_id JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.deleted_at IS NULL AND {LIVE_ASSET} "
    "AND ($1::text IS NULL OR p.model_version = $1) "
    "GROUP BY p.model_version ORDER BY p.model_version"
)


@validated
async def prediction_accuracy_report(*, model_version: str | None = None) -> list[ModelAccuracy]:
    """Per model_version (or only ``model_version``): how many predictions, how many have
    actuals, and their mean prediction_error. One GROUP BY query over live clips."""
    return await rawsql.fetch(
        rawsql.engine_of(Prediction), _ACCURACY_REPORT, model_version, record_class=ModelAccuracy
    )


# --- stream for pipelines ----------------------------------------------------------------

# Every live clip in (created_at, id) order. The row comparison is an index condition on
# clips_created_at_id, so each page costs the same at any depth (no OFFSET); the first page
# starts below every real key.
_CLIP_STREAM = (
    f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE (c.created_at, c.id) > ($1, $2) AND c.deleted_at IS NULL AND {LIVE_ASSET} "
    "ORDER BY c.created_at, c.id LIMIT $3"
)
STREAM_START = (datetime.datetime.min.replace(tzinfo=datetime.UTC), uuid.UUID(int=0))
MAX_STREAM_PAGE = 10_000


def check_stream_page(page: int) -> int:
    """A stream's page size, 1 to MAX_STREAM_PAGE (ValidationError naming ``page``)."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_STREAM_PAGE:
        raise ValidationError(
            f"page must be an integer between 1 and {MAX_STREAM_PAGE}", field="page", rule="range"
        )
    return page


async def clip_stream(*, page: int = 1000) -> AsyncIterator[ClipRecord]:
    """Every live clip, oldest first ((created_at, id) order), fetched ``page`` rows per
    statement: for the ML and export jobs that read everything. Each page is its own
    statement on a pooled connection (nothing is held between pages); rows created behind
    the reading position during the stream are not seen."""
    size = check_stream_page(page)
    engine = rawsql.engine_of(Clip)
    after = STREAM_START
    while True:
        rows = await rawsql.fetch(engine, _CLIP_STREAM, *after, size, record_class=ClipRecord)
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = (rows[-1].created_at, rows[-1].id)
