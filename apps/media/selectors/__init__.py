"""Reads of the media app: assets, clips, predictions and the model accuracy report.

Default reads hide soft-deleted rows and the rows whose parent is soft-deleted: an asset of a
deleted user, a clip of a deleted asset (or of a deleted user's asset), the predictions of
such clips. Lists are keyset-paginated with signed cursors (:mod:`apps.core.pagination`);
the index serving each one is named next to its SQL. The SQL is written out (each statement
recorded with :func:`apps.core.rawsql.statement`, its columns from the table), see
:mod:`apps.core.rawsql` for why. One module per entity; this package re-exports them.
"""

from apps.media.records import (
    AssetRecord,
    AssetWithClips,
    ClipRecord,
    ClipSummary,
    ClipWithPredictions,
    ModelAccuracy,
    PredictionRecord,
    PredictionSummary,
)
from apps.media.selectors.assets import (
    ASSET_COLUMNS,
    LIVE_ASSET,
    ROW_LABELS,
    asset_choices,
    asset_get,
    asset_get_with_clips,
    asset_is_live,
    asset_label,
    asset_list,
)
from apps.media.selectors.clips import (
    CLIP_COLUMNS,
    LIVE_CLIP_ASSETS,
    MAX_STREAM_PAGE,
    STREAM_START,
    check_stream_page,
    clip_get,
    clip_list,
    clip_list_top,
    clip_stream,
)
from apps.media.selectors.predictions import (
    LIVE_CLIP,
    PREDICTION_COLUMNS,
    clip_is_live,
    prediction_accuracy_report,
    prediction_choices,
    prediction_get,
)

__all__ = [
    "ASSET_COLUMNS",
    "CLIP_COLUMNS",
    "LIVE_ASSET",
    "LIVE_CLIP",
    "LIVE_CLIP_ASSETS",
    "MAX_STREAM_PAGE",
    "PREDICTION_COLUMNS",
    "ROW_LABELS",
    "STREAM_START",
    "AssetRecord",
    "AssetWithClips",
    "ClipRecord",
    "ClipSummary",
    "ClipWithPredictions",
    "ModelAccuracy",
    "PredictionRecord",
    "PredictionSummary",
    "asset_choices",
    "asset_get",
    "asset_get_with_clips",
    "asset_is_live",
    "asset_label",
    "asset_list",
    "check_stream_page",
    "clip_get",
    "clip_is_live",
    "clip_list",
    "clip_list_top",
    "clip_stream",
    "prediction_accuracy_report",
    "prediction_choices",
    "prediction_get",
]
