"""Writes of predictions: record a model's prediction for a clip, fill in its actuals.

A prediction is only ever added to a live clip (of a live asset of a live user).
``prediction_record`` is a hot path (one statement, pinned by tests/core/test_statement_counts.py)
and keeps its SQL; filling in the actuals is a cold path on Piccolo's query builder.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from piccolo.columns.combination import WhereRaw

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.records import Row
from apps.core.unset import UNSET, Unset
from apps.core.validation import finite, json_object, not_blank, validated
from apps.media.errors import ClipNotFoundError, PredictionNotFoundError, not_found
from apps.media.records import PredictionRecord
from apps.media.selectors.predictions import LIVE_CLIP, PREDICTION_COLUMNS
from apps.media.tables import Prediction

METRICS = ("roas", "ctr", "cpc", "cpa", "engagement")

_INSERT_PREDICTION = rawsql.statement(
    "INSERT INTO predictions AS p (id, clip_id, model_version, model_type, predicted_roas, "
    "predicted_ctr, predicted_cpc, predicted_cpa, predicted_engagement, confidence, "
    "features, metadata) "
    "SELECT coalesce($12::uuid, gen_random_uuid()), c.id, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10::jsonb, $11::jsonb "
    "FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.id = $1 AND {LIVE_CLIP} "
    f"RETURNING {PREDICTION_COLUMNS}",
    owner=__name__,
)


def _figures(prefix: str, values: tuple[Any, ...]) -> dict[str, Any]:
    """The given figures of ``values`` (one per metric, UNSET skipped), checked finite."""
    return {
        f"{prefix}_{metric}": finite(value, field=f"{prefix}_{metric}")
        for metric, value in zip(METRICS, values, strict=True)
        if value is not UNSET
    }


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
    predicted = list(
        _figures(
            "predicted",
            (predicted_roas, predicted_ctr, predicted_cpc, predicted_cpa, predicted_engagement),
        ).values()
    )
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
        raise not_found(ClipNotFoundError, "clip", clip_id)
    return row


# The prediction row, locked for the update, if its clip (and the clip's asset) is live.
_PREDICTION_OF_LIVE_CLIP = WhereRaw(
    "EXISTS (SELECT 1 FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.id = predictions.clip_id AND {LIVE_CLIP})"
)
_PREDICTED = tuple(getattr(Prediction, f"predicted_{metric}") for metric in METRICS)
_ACTUAL = tuple(getattr(Prediction, f"actual_{metric}") for metric in METRICS)


def prediction_error(predicted: list[float | None], actual: list[float | None]) -> float | None:
    """The mean absolute error over the metrics that have both figures; None if none has."""
    errors = [
        abs(p - a)
        for p, a in zip(predicted, actual, strict=True)
        if p is not None and a is not None
    ]
    return sum(errors) / len(errors) if errors else None


@validated
async def prediction_fill_actuals(
    *,
    prediction_id: uuid.UUID,
    actual_roas: float | Unset | None = UNSET,
    actual_ctr: float | Unset | None = UNSET,
    actual_cpc: float | Unset | None = UNSET,
    actual_cpa: float | Unset | None = UNSET,
    actual_engagement: float | Unset | None = UNSET,
) -> PredictionRecord:
    """Record the actual figures of a prediction and compute its prediction_error.

    prediction_error is the mean absolute error over the metrics that have both a
    predicted and an actual figure: mean(|predicted_m - actual_m|), unweighted and in each
    metric's own unit (so it is most meaningful per model_type, which predicts one kind of
    figure); NULL while no metric has both. Actuals not given keep their stored value; None
    clears one. The row is read with a lock and updated in one transaction.
    Raises ValidationError and PredictionNotFoundError.
    """
    given = _figures("actual", (actual_roas, actual_ctr, actual_cpc, actual_cpa, actual_engagement))
    if not given:
        raise ValidationError(
            "give at least one actual figure", field="actual_roas", rule="at_least_one"
        )
    async with Prediction._meta.db.transaction():
        stored = await rawsql.fetchrow_query(
            Prediction.select(*_PREDICTED, *_ACTUAL)
            .where(Prediction.id == prediction_id, _PREDICTION_OF_LIVE_CLIP)
            .lock_rows(),
            record_class=Row,
        )
        if stored is None:
            raise not_found(PredictionNotFoundError, "prediction", prediction_id)
        predicted = [stored[f"predicted_{metric}"] for metric in METRICS]
        actual = [given.get(f"actual_{metric}", stored[f"actual_{metric}"]) for metric in METRICS]
        values = {
            column: given[column._meta.name] for column in _ACTUAL if column._meta.name in given
        }
        values[Prediction.prediction_error] = prediction_error(predicted, actual)
        row = await rawsql.fetchrow_query(
            Prediction.update(values)
            .where(Prediction.id == prediction_id)
            .returning(*Prediction.all_columns()),
            record_class=PredictionRecord,
        )
    assert row is not None
    return row
