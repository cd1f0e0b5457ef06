"""Experiment writes: create, transitions, recording counts, selecting a winner."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apps.ads import validation as check
from apps.ads._db import connection, transaction
from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    ExperimentNotFoundError,
    InsufficientConfidenceError,
    InvalidExperimentTransitionError,
    VariantNotFoundError,
)
from apps.ads.records import EXPERIMENT_COLUMNS, ExperimentRecord, Variant
from apps.ads.selectors import LIVE_CAMPAIGN
from apps.ads.services._common import dumps, json_object, sources_of
from apps.ads.stats import Metric, VariantCounts, leader_confidence
from apps.ads.tables import Experiment, ExperimentStatus
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.validation import validated

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
                f"variants[{index}] must be an object", field=f"variants[{index}]", rule="object"
            )
        variant_id = check.text(variant.get("id"), field=f"variants[{index}].id")
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
                "name": check.text(variant.get("name"), field=f"variants[{index}].name"),
                "settings": json_object(
                    variant.get("settings"), field=f"variants[{index}].settings"
                ),
                "impressions": 0,
                "clicks": 0,
                "conversions": 0,
            }
        )
    return variants


_EXPERIMENT_INSERT = f"""
INSERT INTO experiments AS e (
    id, campaign_id, name, description, variants, start_date, end_date, metadata)
SELECT coalesce($8::uuid, gen_random_uuid()), c.id, $2::text, $3::text, $4::jsonb,
       $5::timestamptz, $6::timestamptz, $7::jsonb
FROM campaigns c JOIN users u ON u.id = c.user_id
WHERE c.id = $1 AND {LIVE_CAMPAIGN}
RETURNING {EXPERIMENT_COLUMNS}
"""


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
    start = check.aware(start_date, field="start_date")
    end = check.aware(end_date, field="end_date")
    check.ordered_dates(start, end)
    args = (
        campaign_id,
        check.text(name, field="name"),
        description,
        dumps(_variants(variants)),
        start,
        end,
        dumps(json_object(metadata, field="metadata")),
        experiment_id,
    )
    async with connection() as conn:
        row = await conn.fetchrow(_EXPERIMENT_INSERT, *args)
    if row is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    return ExperimentRecord.from_row(row)


_LIVE_EXPERIMENT_FROM = (
    "FROM campaigns c, users u WHERE e.id = $1 AND c.id = e.campaign_id AND u.id = c.user_id "
    f"AND e.deleted_at IS NULL AND {LIVE_CAMPAIGN}"
)
_EXPERIMENT_TRANSITION = f"""
UPDATE experiments e SET status = $2 {_LIVE_EXPERIMENT_FROM} AND e.status = ANY($3::text[])
RETURNING {EXPERIMENT_COLUMNS}
"""
_EXPERIMENT_STATE = f"""
SELECT e.status, e.variants @> jsonb_build_array(jsonb_build_object('id', $2::text)) AS has
FROM experiments e JOIN campaigns c ON c.id = e.campaign_id JOIN users u ON u.id = c.user_id
WHERE e.id = $1 AND e.deleted_at IS NULL AND {LIVE_CAMPAIGN}
"""


@validated(error=AdsValidationError)
async def experiment_transition(
    *, experiment_id: uuid.UUID, status: ExperimentStatus
) -> ExperimentRecord:
    """Move a live experiment to ``status`` along ``EXPERIMENT_TRANSITIONS``, atomically."""
    try:
        target = ExperimentStatus(status)
    except ValueError:
        raise AdsValidationError(
            f"status must be one of {', '.join(ExperimentStatus)}",
            field="status",
            rule="choices",
        ) from None
    if target is ExperimentStatus.COMPLETED:
        # Completing needs a winner: only experiment_select_winner sets one.
        async with connection() as conn:
            state = await conn.fetchrow(_EXPERIMENT_STATE, experiment_id, "")
        if state is None:
            raise ExperimentNotFoundError(
                f"experiment {experiment_id} not found", field="experiment_id"
            )
        if state["status"] in EXPERIMENT_RECORDING:
            raise InvalidExperimentTransitionError(
                f"a {state['status']} experiment becomes COMPLETED only with a winner "
                "(experiment_select_winner picks it)",
                field="winner_variant_id",
                rule="required",
            )
        raise InvalidExperimentTransitionError(
            f"a {state['status']} experiment cannot become COMPLETED",
            field="status",
            rule=f"{state['status']}->COMPLETED",
        )
    sources = sources_of(EXPERIMENT_TRANSITIONS, target)
    async with connection() as conn:
        row = await conn.fetchrow(_EXPERIMENT_TRANSITION, experiment_id, target.value, sources)
        state = None if row else await conn.fetchrow(_EXPERIMENT_STATE, experiment_id, "")
    if row is not None:
        return ExperimentRecord.from_row(row)
    if state is None:
        raise ExperimentNotFoundError(
            f"experiment {experiment_id} not found", field="experiment_id"
        )
    raise InvalidExperimentTransitionError(
        f"a {state['status']} experiment cannot become {target.value}",
        field="status",
        rule=f"{state['status']}->{target.value}",
    )


# One UPDATE rebuilds the variants array with the one variant's counters incremented.
# Under the row lock PostgreSQL re-evaluates SET on the latest row version (EvalPlanQual),
# so concurrent recordings add up instead of overwriting each other.
_EXPERIMENT_RECORD = f"""
UPDATE experiments e SET variants = (
    SELECT jsonb_agg(
        CASE WHEN t.v ->> 'id' = $2::text THEN t.v || jsonb_build_object(
            'impressions', COALESCE((t.v ->> 'impressions')::bigint, 0) + $3::bigint,
            'clicks', COALESCE((t.v ->> 'clicks')::bigint, 0) + $4::bigint,
            'conversions', COALESCE((t.v ->> 'conversions')::bigint, 0) + $5::bigint)
        ELSE t.v END ORDER BY t.ord)
    FROM jsonb_array_elements(e.variants) WITH ORDINALITY AS t(v, ord))
{_LIVE_EXPERIMENT_FROM}
  AND e.status = ANY($6::text[])
  AND e.variants @> jsonb_build_array(jsonb_build_object('id', $2::text))
RETURNING e.variants
"""


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
        check.text(variant_id, field="variant_id"),
        check.count(impressions, field="impressions"),
        check.count(clicks, field="clicks"),
        check.count(conversions, field="conversions"),
        list(EXPERIMENT_RECORDING),
    )
    async with connection() as conn:
        row = await conn.fetchrow(_EXPERIMENT_RECORD, *args)
        state = None if row else await conn.fetchrow(_EXPERIMENT_STATE, experiment_id, variant_id)
    if row is not None:
        return tuple(Variant.from_json(v) for v in json.loads(row["variants"]))
    if state is None:
        raise ExperimentNotFoundError(
            f"experiment {experiment_id} not found", field="experiment_id"
        )
    if not state["has"]:
        raise VariantNotFoundError(
            f"experiment {experiment_id} has no variant {variant_id!r}", field="variant_id"
        )
    raise InvalidExperimentTransitionError(
        f"a {state['status']} experiment does not record counts",
        field="status",
        rule=f"in {'/'.join(EXPERIMENT_RECORDING)}",
    )


_EXPERIMENT_LOCK = f"""
SELECT e.status, e.variants
FROM experiments e JOIN campaigns c ON c.id = e.campaign_id JOIN users u ON u.id = c.user_id
WHERE e.id = $1 AND e.deleted_at IS NULL AND {LIVE_CAMPAIGN}
FOR UPDATE OF e
"""
_EXPERIMENT_COMPLETE = f"""
UPDATE experiments e SET status = 'COMPLETED', winner_variant_id = $2,
    winner_selected_at = now(), confidence = $3, metrics = $4::jsonb
WHERE e.id = $1
RETURNING {EXPERIMENT_COLUMNS}
"""


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
        raise AdsValidationError("metric must be ctr or cvr", field="metric", rule="choices")
    async with transaction(), connection() as conn:
        row = await conn.fetchrow(_EXPERIMENT_LOCK, experiment_id)
        if row is None:
            raise ExperimentNotFoundError(
                f"experiment {experiment_id} not found", field="experiment_id"
            )
        if row["status"] not in EXPERIMENT_RECORDING:
            raise InvalidExperimentTransitionError(
                f"a {row['status']} experiment cannot get a winner",
                field="status",
                rule=f"{row['status']}->COMPLETED",
            )
        variants = [Variant.from_json(v) for v in json.loads(row["variants"])]
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
        completed = await conn.fetchrow(
            _EXPERIMENT_COMPLETE,
            experiment_id,
            result.leader_id,
            result.confidence,
            dumps(metrics),
        )
    assert completed is not None  # the row is locked by this transaction
    return ExperimentRecord.from_row(completed)


@validated(error=AdsValidationError)
async def experiment_delete(*, experiment_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete an experiment; return the time."""
    return await soft_delete_row(
        Experiment,
        row_id=experiment_id,
        not_found=ExperimentNotFoundError,
        field="experiment_id",
        entity="experiment",
    )


@validated(error=AdsValidationError)
async def experiment_restore(*, experiment_id: uuid.UUID) -> None:
    """Bring a soft-deleted experiment back."""
    await restore_row(
        Experiment,
        row_id=experiment_id,
        not_found=ExperimentNotFoundError,
        field="experiment_id",
        entity="experiment",
    )


@validated(error=AdsValidationError)
async def experiment_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete experiments soft-deleted more than ``older_than`` ago; return how many."""
    return await purge_rows(Experiment, older_than=older_than)
