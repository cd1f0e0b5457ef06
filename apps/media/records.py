"""The row types of the media app: asyncpg records (:class:`apps.core.records.Row`) built in C,
plus the two small immutable values of the nested asset read that hold them.

A full row extends its summary (the columns the nested asset read returns): a ClipRecord
is a ClipSummary with the JSON, the flags and the timestamps, a PredictionRecord a
PredictionSummary with the JSON and ``updated_at``.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from apps.core.records import Column, EnumColumn, JsonColumn, Row
from apps.media.tables import AssetStatus, ClipStatus


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


class ClipRecord(ClipSummary):
    """A clip cut from an asset, with its AI features and scores; rank 1 is the best."""

    __slots__ = ()
    asset_id = Column[uuid.UUID]()
    features = JsonColumn()
    face_count = Column[int | None]()
    has_text = Column[bool]()
    has_speech = Column[bool]()
    has_music = Column[bool]()
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()
    deleted_at = Column[datetime.datetime | None]()


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


class PredictionRecord(PredictionSummary):
    """An ML prediction for a clip, with the actual figures once the campaign has run."""

    __slots__ = ()
    features = JsonColumn()
    metadata = JsonColumn()
    updated_at = Column[datetime.datetime]()


class ClipWithPredictions(NamedTuple):
    """A live clip and its predictions (oldest first).

    A NamedTuple rather than a dataclass: the nested read builds one per clip (1,000 on a
    long video) with ``tuple.__new__`` in C, no Python per clip (docs/PERFORMANCE.md).
    """

    clip: ClipSummary
    predictions: tuple[PredictionSummary, ...]


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
