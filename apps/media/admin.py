"""Assets, clips and predictions in the admin (clips are a big table)."""

from __future__ import annotations

from piccolo_api.crud.endpoints import OrderBy

from apps.adminsite.config import GatewayTableConfig
from apps.media.tables import Asset, Clip, Prediction

TABLE_CONFIGS = [
    GatewayTableConfig(
        Asset,
        menu_group="Media",
        visible_columns=[
            Asset.original_name,
            Asset.user,
            Asset.status,
            Asset.file_size,
            Asset.duration,
            Asset.width,
            Asset.height,
            Asset.created_at,
            Asset.deleted_at,
        ],
        visible_filters=[
            Asset.user,
            Asset.status,
            Asset.original_name,
            Asset.mime_type,
            Asset.created_at,
            Asset.deleted_at,
        ],
        order_by=[OrderBy(Asset.created_at, ascending=False)],
        link_column=Asset.original_name,
    ),
    GatewayTableConfig(
        Clip,
        menu_group="Media",
        big_table=True,
        visible_columns=[
            Clip.id,
            Clip.asset,
            Clip.rank,
            Clip.score,
            Clip.status,
            Clip.start_time,
            Clip.duration,
            Clip.viral_score,
            Clip.created_at,
        ],
        visible_filters=[
            Clip.asset,
            Clip.status,
            Clip.rank,
            Clip.score,
            Clip.has_text,
            Clip.has_speech,
            Clip.has_music,
            Clip.created_at,
            Clip.deleted_at,
        ],
        order_by=[OrderBy(Clip.score, ascending=False)],
    ),
    GatewayTableConfig(
        Prediction,
        menu_group="Media",
        visible_columns=[
            Prediction.id,
            Prediction.clip,
            Prediction.model_version,
            Prediction.model_type,
            Prediction.predicted_roas,
            Prediction.actual_roas,
            Prediction.confidence,
            Prediction.created_at,
        ],
        visible_filters=[
            Prediction.clip,
            Prediction.model_version,
            Prediction.model_type,
            Prediction.created_at,
        ],
        order_by=[OrderBy(Prediction.created_at, ascending=False)],
    ),
]
FORMS: list[object] = []
