"""Assets, clips and predictions in the admin (clips are a big table).

Generic edits change only the descriptive fields, normalised by the media services' own
checks; statuses, scores, ranks and a prediction's actual figures change through the forms
below, which call the media services.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.endpoints import OrderBy
from pydantic import BaseModel, Field
from starlette.requests import Request

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import request_actor
from apps.adminsite.pickers import row_picker
from apps.adminsite.selectors import row_snapshot
from apps.adminsite.services import admin_columns_update, admin_form_record, atomic
from apps.core.errors import GatewayError
from apps.core.validation import json_object, not_blank
from apps.media.selectors import asset_choices, asset_is_live, clip_is_live, prediction_choices
from apps.media.services import asset_transition, prediction_fill_actuals, prediction_record
from apps.media.tables import Asset, AssetStatus, Clip, Prediction
from apps.users.admin import LIVE_USER

# The rows whose parent is not live (the media app's definitions, see apps.media.selectors):
# the admin's lists of clips and predictions leave them out.
LIVE_ASSET = ("asset_id", asset_is_live)
LIVE_CLIP = ("clip_id", clip_is_live)


def normalise(changes: dict[str, Any]) -> dict[str, Any]:
    """Descriptive fields as the media services store them (text stripped, JSON objects)."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("metadata", "features"):
            values[name] = json_object(value, field=name)
        elif name == "original_name":
            values[name] = not_blank(value, field=name, max_length=1024)
        else:  # optional URLs
            values[name] = None if value is None else not_blank(value, field=name, max_length=1024)
    return values


def generic_update(table: Any) -> Any:
    async def update(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
        await admin_columns_update(table=table, row_id=row_id, values=normalise(changes))

    return update


class ChangeAssetStatus(BaseModel):
    asset_id: uuid.UUID = row_picker("assets", asset_choices, "The asset.", listed="live assets")
    status: AssetStatus
    processing_error: str | None = Field(default=None, description="Only for FAILED.")


class RecordActuals(BaseModel):
    prediction_id: uuid.UUID = row_picker(
        "predictions",
        prediction_choices,
        "The prediction.",
        listed="predictions of live clips without actual figures yet",
    )
    actual_roas: float | None = None
    actual_ctr: float | None = None
    actual_cpc: float | None = None
    actual_cpa: float | None = None
    actual_engagement: float | None = None


async def change_asset_status_endpoint(request: Request, data: ChangeAssetStatus) -> str:
    """Move an asset along its state machine (PENDING -> PROCESSING -> READY ...)."""
    try:
        async with atomic(Asset):
            before = await row_snapshot(table=Asset, row_id=data.asset_id, columns=[Asset.status])
            record = await asset_transition(
                asset_id=data.asset_id,
                status=data.status,
                processing_error=data.processing_error,
            )
            await admin_form_record(
                actor=request_actor(request),
                table=Asset,
                row_id=data.asset_id,
                form="change an asset's status",
                changes={"status": {"old": (before or {}).get("status"), "new": record.status}},
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Asset '{record.original_name}' is now {record.status}."


async def record_actuals_endpoint(request: Request, data: RecordActuals) -> str:
    """Record what a prediction's clip really did; the service computes prediction_error."""
    # An empty field is an actual not given (it keeps its stored value).
    actuals: dict[str, Any] = data.model_dump(exclude={"prediction_id"}, exclude_none=True)
    try:
        async with atomic(Prediction):
            record = await prediction_fill_actuals(prediction_id=data.prediction_id, **actuals)
            await admin_form_record(
                actor=request_actor(request),
                table=Prediction,
                row_id=data.prediction_id,
                form="record a prediction's actual figures",
                changes={
                    **{k: {"old": None, "new": v} for k, v in actuals.items()},
                    "prediction_error": {"old": None, "new": record.prediction_error},
                },
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Prediction {data.prediction_id}: error {record.prediction_error}."


async def create_prediction(values: dict[str, Any]) -> uuid.UUID:
    """The "add row" form: ``prediction_record`` (a live clip, at least one figure)."""
    if "clip" in values:
        values["clip_id"] = values.pop("clip")
    try:
        record = await prediction_record(**values)
    except GatewayError as error:
        if error.field == "clip_id":  # the form's field is "clip"
            error.field = "clip"
        raise
    return record.id


SET_BY_PIPELINE = "the analysis pipeline sets it through the media services"

TABLE_CONFIGS = [
    GatewayTableConfig(
        Asset,
        menu_group="Media",
        visible_columns=[
            Asset.id,
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
        editable_columns=[Asset.original_name, Asset.thumbnail_url, Asset.metadata],
        read_only_hints={"status": "use the form 'Change an asset's status'"},
        update=generic_update(Asset),
        live_parents=LIVE_USER,
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
        editable_columns=[Clip.clip_url, Clip.thumbnail_url, Clip.metadata],
        read_only_hints={
            "rank": "the media services rank an asset's clips by score",
            "status": SET_BY_PIPELINE,
            "score": SET_BY_PIPELINE,
        },
        update=generic_update(Clip),
        live_parents=LIVE_ASSET,
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
            Prediction.prediction_error,
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
        editable_columns=[Prediction.metadata],
        read_only_hints={
            **{
                f"actual_{name}": "use the form 'Record a prediction's actual figures'"
                for name in ("roas", "ctr", "cpc", "cpa", "engagement")
            },
            "prediction_error": "computed from the actual figures",
        },
        update=generic_update(Prediction),
        create=create_prediction,
        creatable_columns=[
            Prediction.clip,
            Prediction.model_version,
            Prediction.model_type,
            Prediction.predicted_roas,
            Prediction.predicted_ctr,
            Prediction.predicted_cpc,
            Prediction.predicted_cpa,
            Prediction.predicted_engagement,
            Prediction.confidence,
            Prediction.features,
            Prediction.metadata,
        ],
        live_parents=LIVE_CLIP,
    ),
]

FORMS = [
    FormConfig(
        name="Change an asset's status",
        pydantic_model=ChangeAssetStatus,
        endpoint=change_asset_status_endpoint,
        description="Follows the asset state machine; a move it does not allow is refused.",
        form_group="Media",
    ),
    FormConfig(
        name="Record a prediction's actual figures",
        pydantic_model=RecordActuals,
        endpoint=record_actuals_endpoint,
        description="Stores the actuals and computes the prediction error.",
        form_group="Media",
    ),
]
