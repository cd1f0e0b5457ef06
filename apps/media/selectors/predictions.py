"""Reads of predictions: one prediction, the model accuracy report, the picker choices."""

from __future__ import annotations

import uuid

from apps.core import rawsql
from apps.core.validation import validated
from apps.media.errors import PredictionNotFoundError
from apps.media.records import ModelAccuracy, PredictionRecord
from apps.media.selectors.assets import LIVE_ASSET, _fetch_one
from apps.media.tables import Prediction
from apps.users.selectors import user_label

PREDICTION_COLUMNS = rawsql.columns(Prediction, "p")
LIVE_CLIP = f"c.deleted_at IS NULL AND {LIVE_ASSET}"
"""The clip ``c`` (joined to its asset ``a``) is live."""


def clip_is_live(clip_id: str) -> str:
    """The SQL condition "the clip ``clip_id`` is live" (``LIVE_CLIP`` for another query's
    column or ``$n`` parameter): not soft-deleted, its asset and the asset's owner live."""
    return (
        "EXISTS (SELECT 1 FROM clips c JOIN assets a ON a.id = c.asset_id "
        f"WHERE c.id = {clip_id} AND {LIVE_CLIP})"
    )


_PREDICTION_BY_ID = rawsql.statement(
    f"SELECT {PREDICTION_COLUMNS} FROM predictions p JOIN clips c ON c.id = p.clip_id "
    f"JOIN assets a ON a.id = c.asset_id WHERE p.id = $1 AND {LIVE_CLIP}",
    owner=__name__,
)


@validated
async def prediction_get(*, prediction_id: uuid.UUID) -> PredictionRecord:
    """The prediction with this id; PredictionNotFoundError when absent or its clip not live."""
    return await _fetch_one(
        Prediction,
        _PREDICTION_BY_ID,
        prediction_id,
        record_class=PredictionRecord,
        error=PredictionNotFoundError,
        entity="prediction",
    )


_ACCURACY_REPORT = rawsql.statement(
    "SELECT p.model_version, count(*) AS predictions, count(p.prediction_error) AS evaluated, "
    "avg(p.prediction_error) AS mean_error "
    "FROM predictions p JOIN clips c ON c.id = p.clip_id JOIN assets a ON a.id = c.asset_id "
    f"WHERE {LIVE_CLIP} AND ($1::text IS NULL OR p.model_version = $1) "
    "GROUP BY p.model_version ORDER BY p.model_version",
    owner=__name__,
)


@validated
async def prediction_accuracy_report(*, model_version: str | None = None) -> list[ModelAccuracy]:
    """Per model_version (or only ``model_version``): how many predictions, how many have
    actuals, and their mean prediction_error. One GROUP BY query over live clips."""
    return await rawsql.fetch(
        rawsql.engine_of(Prediction), _ACCURACY_REPORT, model_version, record_class=ModelAccuracy
    )


_WITHOUT_ACTUALS = " AND ".join(
    f"p.actual_{name} IS NULL" for name in ("roas", "ctr", "cpc", "cpa", "engagement")
)
_PREDICTION_CHOICES = rawsql.statement(
    "SELECT p.id, a.original_name || ' · clip #' || coalesce(c.rank::text, '?') "
    "|| ' · ' || p.model_version || ' · predicted ROAS ' "
    f"|| coalesce(p.predicted_roas::text, '-') || ' · ' || {user_label('a.user_id')} AS label "
    "FROM predictions p JOIN clips c ON c.id = p.clip_id JOIN assets a ON a.id = c.asset_id "
    f"WHERE {_WITHOUT_ACTUALS} AND {LIVE_CLIP} "
    "ORDER BY p.created_at DESC, p.id DESC LIMIT $1",
    owner=__name__,
)


@validated
async def prediction_choices(*, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` predictions of live clips still without actual figures, newest
    first, labelled (asset · clip rank · model · predicted ROAS · owner's email)."""
    return await rawsql.fetch_choices(Prediction, _PREDICTION_CHOICES, limit)
