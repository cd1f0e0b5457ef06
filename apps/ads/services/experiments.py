"""Experiment writes: create, transitions, recording counts, selecting a winner."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from piccolo.query import WhereRaw
from piccolo.querystring import QueryString

from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    ExperimentNotFoundError,
    InsufficientConfidenceError,
    InvalidExperimentTransitionError,
    VariantNotFoundError,
)
from apps.ads.records import ExperimentRecord, Variant, variants_of
from apps.ads.selectors import EXPERIMENT_COLUMNS, campaign_is_live
from apps.ads.stats import Metric, VariantCounts, leader_confidence
from apps.ads.tables import Experiment, ExperimentStatus
from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.core.records import Row
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.transitions import Transitions
from apps.core.validation import (
    aware,
    count,
    json_object,
    not_before,
    not_blank,
    validated,
)

# COMPLETED and CANCELLED are final. Selecting a winner moves RUNNING or PAUSED to COMPLETED.
EXPERIMENT_TRANSITIONS: Final[Mapping[ExperimentStatus, frozenset[ExperimentStatus]]] = {
    ExperimentStatus.DRAFT: frozenset({ExperimentStatus.RUNNING, ExperimentStatus.CANCELLED}),
    ExperimentStatus.RUNNING: frozenset(
        {ExperimentStatus.PAUSED, ExperimentStatus.COMPLETED, ExperimentStatus.CANCELLED}
    ),
    ExperimentStatus.PAUSED: frozenset(
        {ExperimentStatus.RUNNING, ExperimentStatus.COMPLETED, ExperimentStatus.CANCELLED}
    ),
    ExperimentStatus.COMPLETED: frozenset(),
    ExperimentStatus.CANCELLED: frozenset(),
}

# Statuses in which an experiment accepts new counts (late figures may arrive while paused).
EXPERIMENT_RECORDING: Final = (ExperimentStatus.RUNNING.value, ExperimentStatus.PAUSED.value)
_MACHINE = Transitions(
    EXPERIMENT_TRANSITIONS, entity="experiment", error=InvalidExperimentTransitionError
)
# Piccolo's WHERE for a live experiment (not soft-deleted, its campaign live).
_LIVE = Experiment.deleted_at.is_null() & WhereRaw(campaign_is_live("experiments.campaign_id"))
# What the cold paths written with Piccolo's query builder return: an ExperimentRecord.
_RETURNING = Experiment.all_columns(exclude=[Experiment.deleted_at])


def _not_found(experiment_id: uuid.UUID) -> ExperimentNotFoundError:
    return ExperimentNotFoundError(f"experiment {experiment_id} not found", field="experiment_id")


def _text(value: Any, *, field: str) -> str:
    if value is None:
        raise AdsValidationError(f"{field} is required", field=field, rule="required")
    if not isinstance(value, str):
        raise AdsValidationError(f"{field} must be a string", field=field, rule="type")
    return not_blank(value, field=field)


def _variants(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) < 2:
        raise AdsValidationError(
            "an experiment needs a list of at least two variants", field="variants", rule="min"
        )
    variants = []
    seen: set[str] = set()
    for index, variant in enumerate(value):
        if not isinstance(variant, Mapping):
            raise AdsValidationError(
                f"variants[{index}] must be an object",
                field=f"variants[{index}]",
                rule="json_object",
            )
        variant_id = _text(variant.get("id"), field=f"variants[{index}].id")
        if variant_id in seen:
            raise AdsValidationError(
                f"two variants have the id {variant_id!r}",
                field=f"variants[{index}].id",
                rule="unique",
            )
        seen.add(variant_id)
        variants.append(
            {
                "id": variant_id,
                "name": _text(variant.get("name"), field=f"variants[{index}].name"),
                "settings": json.loads(
                    json_object(variant.get("settings"), field=f"variants[{index}].settings")
                ),
                "impressions": 0,
                "clicks": 0,
                "conversions": 0,
            }
        )
    return variants


# One statement: the campaign's liveness is checked by the INSERT itself.
_EXPERIMENT_INSERT = rawsql.statement(
    f"""
INSERT INTO experiments AS e (
    id, campaign_id, name, description, variants, start_date, end_date, metadata)
SELECT coalesce($8::uuid, gen_random_uuid()), $1::uuid, $2::text, $3::text, $4::jsonb,
       $5::timestamptz, $6::timestamptz, $7::jsonb
WHERE {campaign_is_live("$1::uuid")}
RETURNING {EXPERIMENT_COLUMNS}
""",
    owner=__name__,
)


@validated(error=AdsValidationError)
async def experiment_create(
    *,
    campaign_id: uuid.UUID,
    name: str,
    variants: Sequence[Mapping[str, Any]],
    description: str | None = None,
    start_date: datetime.datetime | None = None,
    end_date: datetime.datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
    experiment_id: uuid.UUID | None = None,
) -> ExperimentRecord:
    """Create a DRAFT A/B experiment in a live campaign (``experiment_id`` fixes the id).

    ``variants``: at least two ``{"id": ..., "name": ..., "settings": {...}}`` with distinct
    ids; their impressions, clicks and conversions start at 0.
    """
    aware(start_date, field="start_date")
    aware(end_date, field="end_date")
    not_before(
        start_date,
        end_date,
        field="end_date",
        start_field="start_date",
    )
    args = (
        campaign_id,
        not_blank(name, field="name"),
        description,
        json.dumps(_variants(variants)),
        start_date,
        end_date,
        json_object(metadata, field="metadata"),
        experiment_id,
    )
    row = await rawsql.fetchrow(
        rawsql.engine_of(Experiment), _EXPERIMENT_INSERT, *args, record_class=ExperimentRecord
    )
    if row is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    return row


_LIVE_EXPERIMENT = f"e.deleted_at IS NULL AND {campaign_is_live('e.campaign_id')}"
_EXPERIMENT_STATE = rawsql.statement(
    "SELECT e.status, "
    "e.variants @> jsonb_build_array(jsonb_build_object('id', $2::text)) AS has "
    f"FROM experiments e WHERE e.id = $1 AND {_LIVE_EXPERIMENT}",
    owner=__name__,
)


class _State(Row):
    """An experiment's status, and whether it has the variant asked about (``has``)."""

    __slots__ = ()


async def _state(experiment_id: uuid.UUID, variant_id: str = "") -> _State:
    """The live experiment's status (ExperimentNotFoundError when there is none)."""
    state = await rawsql.fetchrow(
        rawsql.engine_of(Experiment),
        _EXPERIMENT_STATE,
        experiment_id,
        variant_id,
        record_class=_State,
    )
    if state is None:
        raise _not_found(experiment_id)
    return state


@validated(error=AdsValidationError)
async def experiment_transition(
    *, experiment_id: uuid.UUID, status: ExperimentStatus
) -> ExperimentRecord:
    """Move a live experiment to ``status`` along ``EXPERIMENT_TRANSITIONS``, atomically."""
    target = ExperimentStatus(status)
    if target is ExperimentStatus.COMPLETED:
        # Completing needs a winner: only experiment_select_winner sets one.
        state = await _state(experiment_id)
        if state["status"] in EXPERIMENT_RECORDING:
            raise InvalidExperimentTransitionError(
                f"a {state['status']} experiment becomes COMPLETED only with a winner "
                "(experiment_select_winner picks it)",
                field="winner_variant_id",
                rule="required",
            )
        raise _MACHINE.refused(current=state["status"], target=target)
    row = await rawsql.fetchrow_query(
        Experiment.update({Experiment.status: target.value})
        .where(
            (Experiment.id == experiment_id)
            & _LIVE
            & Experiment.status.is_in(_MACHINE.sources(target))
        )
        .returning(*_RETURNING),
        record_class=ExperimentRecord,
    )
    if row is not None:
        return row
    raise _MACHINE.refused(current=(await _state(experiment_id))["status"], target=target)


# One UPDATE rebuilds the variants array with the one variant's counters incremented.
# Under the row lock PostgreSQL re-evaluates SET on the latest row version (EvalPlanQual),
# so concurrent recordings add up instead of overwriting each other.
_EXPERIMENT_RECORD = rawsql.statement(
    f"""
UPDATE experiments e SET variants = (
    SELECT jsonb_agg(
        CASE WHEN t.v ->> 'id' = $2::text THEN t.v || jsonb_build_object(
            'impressions', COALESCE((t.v ->> 'impressions')::bigint, 0) + $3::bigint,
            'clicks', COALESCE((t.v ->> 'clicks')::bigint, 0) + $4::bigint,
            'conversions', COALESCE((t.v ->> 'conversions')::bigint, 0) + $5::bigint)
        ELSE t.v END ORDER BY t.ord)
    FROM jsonb_array_elements(e.variants) WITH ORDINALITY AS t(v, ord))
WHERE e.id = $1 AND {_LIVE_EXPERIMENT}
  AND e.status = ANY($6::text[])
  AND e.variants @> jsonb_build_array(jsonb_build_object('id', $2::text))
RETURNING e.variants
""",
    owner=__name__,
)


@validated(error=AdsValidationError)
async def experiment_record(
    *,
    experiment_id: uuid.UUID,
    variant_id: str,
    impressions: int = 0,
    clicks: int = 0,
    conversions: int = 0,
) -> tuple[Variant, ...]:
    """Add impressions, clicks and conversions to one variant; return all the variants.

    Only a RUNNING or PAUSED experiment accepts counts (InvalidExperimentTransitionError
    otherwise); an unknown variant is VariantNotFoundError.
    """
    args = (
        experiment_id,
        not_blank(variant_id, field="variant_id"),
        count(impressions, field="impressions"),
        count(clicks, field="clicks"),
        count(conversions, field="conversions"),
        list(EXPERIMENT_RECORDING),
    )
    variants = await rawsql.fetchval(rawsql.engine_of(Experiment), _EXPERIMENT_RECORD, *args)
    if variants is not None:
        return variants_of(variants)
    state = await _state(experiment_id, args[1])
    if not state["has"]:
        raise VariantNotFoundError(
            f"experiment {experiment_id} has no variant {variant_id!r}", field="variant_id"
        )
    raise InvalidExperimentTransitionError(
        f"a {state['status']} experiment does not record counts",
        field="status",
        rule="one_of",
    )


_EXPERIMENT_LOCK = rawsql.statement(
    f"SELECT e.status, e.variants FROM experiments e WHERE e.id = $1 AND {_LIVE_EXPERIMENT} "
    "FOR UPDATE OF e",
    owner=__name__,
)


def _variant_metrics(variant: Variant) -> dict[str, Any]:
    return {
        "impressions": variant.impressions,
        "clicks": variant.clicks,
        "conversions": variant.conversions,
        "ctr": variant.clicks / variant.impressions if variant.impressions else None,
        "cvr": variant.conversions / variant.clicks if variant.clicks else None,
    }


@validated(error=AdsValidationError)
async def experiment_select_winner(
    *, experiment_id: uuid.UUID, threshold: float = 0.95, metric: Metric = "ctr"
) -> ExperimentRecord:
    """Complete a RUNNING or PAUSED experiment with its leading variant as the winner.

    The leader is the variant with the best ``metric`` (``ctr`` = clicks / impressions,
    ``cvr`` = conversions / clicks); the confidence that it beats every other variant comes
    from :func:`apps.ads.stats.leader_confidence` (one-sided two-proportion z-tests). Below
    ``threshold`` nothing changes and InsufficientConfidenceError is raised. The row is
    locked for the decision, so counts recorded meanwhile wait and cannot slip past it.
    """
    if not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise AdsValidationError(
            "threshold must be between 0 and 1 (exclusive)", field="threshold", rule="range"
        )
    if metric not in ("ctr", "cvr"):
        raise AdsValidationError("metric must be ctr or cvr", field="metric", rule="one_of")
    engine = rawsql.engine_of(Experiment)
    async with translate_errors(), engine.transaction():
        row = await rawsql.fetchrow(engine, _EXPERIMENT_LOCK, experiment_id)
        if row is None:
            raise _not_found(experiment_id)
        if row["status"] not in EXPERIMENT_RECORDING:
            raise _MACHINE.refused(current=row["status"], target=ExperimentStatus.COMPLETED)
        variants = variants_of(row["variants"])
        result = leader_confidence(
            [VariantCounts(v.id, v.impressions, v.clicks, v.conversions) for v in variants],
            metric=metric,
        )
        if result.confidence < threshold:
            raise InsufficientConfidenceError(
                f"variant {result.leader_id!r} leads with confidence "
                f"{result.confidence:.4f}, below the threshold {threshold:g}",
                confidence=result.confidence,
                threshold=threshold,
            )
        metrics = {
            "metric": metric,
            "method": "one-sided two-proportion z-test (pooled), leader vs each variant",
            "threshold": threshold,
            "z_scores": result.z_scores,
            "variants": {v.id: _variant_metrics(v) for v in variants},
        }
        completed = await rawsql.fetchrow_query(
            Experiment.update(
                {
                    Experiment.status: ExperimentStatus.COMPLETED.value,
                    Experiment.winner_variant_id: result.leader_id,
                    Experiment.winner_selected_at: QueryString("now()"),
                    Experiment.confidence: result.confidence,
                    Experiment.metrics: json.dumps(metrics),
                }
            )
            .where(Experiment.id == experiment_id)
            .returning(*_RETURNING),
            record_class=ExperimentRecord,
        )
    assert completed is not None  # the row is locked by this transaction
    return completed


# How soft delete and restore name a missing experiment.
_ROW: Final[dict[str, Any]] = {
    "not_found": ExperimentNotFoundError,
    "field": "experiment_id",
    "entity": "experiment",
}


@validated(error=AdsValidationError)
async def experiment_soft_delete(*, experiment_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete an experiment; return the time."""
    return await soft_delete_row(Experiment, row_id=experiment_id, **_ROW)


@validated(error=AdsValidationError)
async def experiment_restore(*, experiment_id: uuid.UUID) -> None:
    """Bring a soft-deleted experiment back."""
    await restore_row(Experiment, row_id=experiment_id, **_ROW)


@validated(error=AdsValidationError)
async def experiment_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete experiments soft-deleted more than ``older_than`` ago; return how many."""
    return await purge_rows(Experiment, older_than=older_than)
