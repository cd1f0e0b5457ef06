"""Uploaded video assets, the clips cut from them, and the ML predictions for each clip."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from piccolo.columns import (
    JSONB,
    BigInt,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    LazyTableReference,
    Text,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.readable import Readable
from piccolo.constraints import Check
from piccolo.table import Table

if TYPE_CHECKING:
    from apps.users.tables import User

from apps.core.schema import (
    created_at_column,
    deleted_at_column,
    id_column,
    one_of,
    updated_at_column,
)


class AssetStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    ARCHIVED = "ARCHIVED"


class ClipStatus(StrEnum):
    PENDING = "PENDING"
    ANALYZED = "ANALYZED"
    SCORED = "SCORED"
    PUBLISHED = "PUBLISHED"
    REJECTED = "REJECTED"


class Asset(Table, tablename="assets"):
    """An uploaded video file stored in Google Cloud Storage."""

    id = id_column()

    @classmethod
    def get_readable(cls) -> Readable:
        """How the admin names a asset wherever one is referenced (lists, pickers)."""
        return Readable(template="%s", columns=[cls.original_name])

    user: ForeignKey[User] = ForeignKey(
        LazyTableReference(table_class_name="User", app_name="users"),
        on_delete=OnDelete.cascade,
        null=False,
        index=True,
        db_column_name="user_id",
    )
    filename = Text(required=True, default=None)
    original_name = Text(required=True, default=None)
    mime_type = Text(required=True, default=None)
    file_size = BigInt(required=True, default=None)
    gcs_url = Text(unique=True, required=True, default=None)
    gcs_bucket = Text(required=True, default=None)
    gcs_path = Text(required=True, default=None)
    thumbnail_url = Text(null=True, default=None)
    duration = DoublePrecision(null=True, default=None, help_text="Seconds.")
    fps = DoublePrecision(null=True, default=None)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    bitrate = Integer(null=True, default=None)
    codec = Text(null=True, default=None)
    status = Text(default=AssetStatus.PENDING, choices=AssetStatus, index=True)
    processing_error = Text(null=True, default=None)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    status_is_valid = one_of("status", AssetStatus)
    file_size_not_negative = Check("file_size >= 0")
    gcs_url_is_gs = Check("gcs_url LIKE 'gs://%'")
    duration_not_negative = Check("duration >= 0")
    fps_not_negative = Check("fps >= 0")
    width_not_negative = Check("width >= 0")
    height_not_negative = Check("height >= 0")
    bitrate_not_negative = Check("bitrate >= 0")


class Clip(Table, tablename="clips"):
    """A segment cut from an asset, analysed and scored by AI; rank 1 is the asset's best."""

    id = id_column()
    asset = ForeignKey(
        Asset, on_delete=OnDelete.cascade, null=False, index=True, db_column_name="asset_id"
    )
    start_time = DoublePrecision(
        required=True, default=None, help_text="Seconds from the asset's start."
    )
    end_time = DoublePrecision(
        required=True, default=None, help_text="Seconds from the asset's start."
    )
    duration = DoublePrecision(required=True, default=None, help_text="Seconds.")
    clip_url = Text(null=True, default=None)
    thumbnail_url = Text(null=True, default=None)
    features = JSONB(default={})
    face_count = Integer(null=True, default=None)
    has_text = Boolean(default=False)
    has_speech = Boolean(default=False)
    has_music = Boolean(default=False)
    score = DoublePrecision(null=True, default=None, index=True)
    viral_score = DoublePrecision(null=True, default=None)
    engagement_score = DoublePrecision(null=True, default=None)
    brand_safety_score = DoublePrecision(null=True, default=None)
    rank = Integer(null=True, default=None, index=True)
    status = Text(default=ClipStatus.PENDING, choices=ClipStatus, index=True)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    status_is_valid = one_of("status", ClipStatus)
    times_are_ordered = Check("start_time >= 0 AND end_time > start_time")
    duration_not_negative = Check("duration >= 0")
    face_count_not_negative = Check("face_count >= 0")
    rank_is_positive = Check("rank >= 1")


class Prediction(Table, tablename="predictions"):
    """An ML model's prediction for a clip; actuals are filled in after the campaign ran."""

    id = id_column()
    clip = ForeignKey(
        Clip, on_delete=OnDelete.cascade, null=False, index=True, db_column_name="clip_id"
    )
    model_version = Text(required=True, default=None, index=True)
    model_type = Text(default="roas")
    predicted_roas = DoublePrecision(null=True, default=None)
    predicted_ctr = DoublePrecision(null=True, default=None)
    predicted_cpc = DoublePrecision(null=True, default=None)
    predicted_cpa = DoublePrecision(null=True, default=None)
    predicted_engagement = DoublePrecision(null=True, default=None)
    actual_roas = DoublePrecision(null=True, default=None)
    actual_ctr = DoublePrecision(null=True, default=None)
    actual_cpc = DoublePrecision(null=True, default=None)
    actual_cpa = DoublePrecision(null=True, default=None)
    actual_engagement = DoublePrecision(null=True, default=None)
    features = JSONB(default={})
    confidence = DoublePrecision(null=True, default=None)
    prediction_error = DoublePrecision(null=True, default=None, help_text="MAE or RMSE.")
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()

    confidence_in_unit_range = Check("confidence >= 0 AND confidence <= 1")
    model_version_not_blank = Check("btrim(model_version) <> ''")
