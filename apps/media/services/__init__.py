"""Writes of the media app: assets and their status, clips in bulk and their ranking,
predictions and their actuals, soft delete. One module per entity; this package re-exports
them (``from apps.media import services``; ``services.asset_register(...)``).

Every write checks that the parent rows are live: a clip is never added to a soft-deleted
asset, nor a prediction to a clip of one. See :mod:`apps.media.services.assets` for the
asset status transitions.
"""

from apps.media.services.assets import (
    ASSET_MACHINE,
    ASSET_TRANSITIONS,
    asset_purge,
    asset_register,
    asset_restore,
    asset_soft_delete,
    asset_transition,
)
from apps.media.services.clips import (
    MAX_CLIPS_PER_BATCH,
    NewClip,
    clip_bulk_create,
    clip_purge,
    clip_rank_asset,
    clip_restore,
    clip_soft_delete,
)
from apps.media.services.predictions import (
    METRICS,
    prediction_error,
    prediction_fill_actuals,
    prediction_record,
)

__all__ = [
    "ASSET_MACHINE",
    "ASSET_TRANSITIONS",
    "MAX_CLIPS_PER_BATCH",
    "METRICS",
    "NewClip",
    "asset_purge",
    "asset_register",
    "asset_restore",
    "asset_soft_delete",
    "asset_transition",
    "clip_bulk_create",
    "clip_purge",
    "clip_rank_asset",
    "clip_restore",
    "clip_soft_delete",
    "prediction_error",
    "prediction_fill_actuals",
    "prediction_record",
]
