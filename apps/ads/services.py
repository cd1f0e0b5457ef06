"""Writes of the ads app: campaigns, experiments, conversions and performance metrics.

Every function is keyword-only and raises only the project's typed errors. A write that
touches several rows runs in one transaction (joining the caller's when there is one).
Counters are changed by atomic increments in a single UPDATE, never read-modify-write, so
concurrent updates are never lost.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, Final

import asyncpg

from apps.ads import validation as check
from apps.ads._db import connection, transaction
from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    ExperimentNotFoundError,
    InsufficientConfidenceError,
    InvalidCampaignTransitionError,
    InvalidExperimentTransitionError,
    VariantNotFoundError,
)
from apps.ads.records import (
    CAMPAIGN_COLUMNS,
    EXPERIMENT_COLUMNS,
    PERFORMANCE_METRIC_COLUMNS,
    CampaignRecord,
    CampaignTotals,
    ConversionInput,
    ExperimentRecord,
    IngestResult,
    PerformanceMetricRecord,
    Variant,
)
from apps.ads.selectors import LIVE_CAMPAIGN, campaign_get
from apps.ads.stats import Metric, VariantCounts, leader_confidence
from apps.ads.tables import (
    Campaign,
    CampaignStatus,
    ConversionSource,
    Experiment,
    ExperimentStatus,
    Objective,
)
from apps.core.errors import NotFoundError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Default of ``campaign_update`` arguments: leave the column as it is."""

# Allowed status changes: from -> the statuses it may move to. Anything else raises
# InvalidCampaignTransitionError. ARCHIVED is final.
CAMPAIGN_TRANSITIONS: Final[Mapping[CampaignStatus, frozenset[CampaignStatus]]] = {
    CampaignStatus.DRAFT: frozenset(
        {CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.SCHEDULED: frozenset(
        {CampaignStatus.ACTIVE, CampaignStatus.DRAFT, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.COMPLETED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.COMPLETED}),
    CampaignStatus.COMPLETED: frozenset({CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}

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

# Batches larger than this go through COPY into a temporary table; smaller ones are sent
# as arrays in one INSERT ... SELECT FROM unnest(...).
COPY_THRESHOLD: Final = 1000


def _sources_of(transitions: Mapping[Any, frozenset[Any]], target: Enum) -> list[str]:
    return sorted(source.value for source, targets in transitions.items() if target in targets)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _json_object(value: Any, *, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AdsValidationError(f"{field} must be a JSON object", field=field, rule="object")
    return dict(value)


def _locations(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise AdsValidationError(
            "target_locations must be a list of country codes",
            field="target_locations",
            rule="list",
        )
    codes = []
    for code in value:
        if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
            raise AdsValidationError(
                "target_locations must hold 2-letter country codes such as US",
                field="target_locations",
                rule="iso3166",
            )
        codes.append(code.upper())
    return codes


def _objective(value: Any) -> str:
    try:
        return Objective(value).value
    except ValueError:
        raise AdsValidationError(
            f"objective must be one of {', '.join(Objective)}", field="objective", rule="choices"
        ) from None


def _optional_text(value: Any, *, field: str) -> str | None:
    if value is None:
        return None
    return check.text(value, field=field)


# --------------------------------------------------------------------------- campaigns

_CAMPAIGN_INSERT = f"""
INSERT INTO campaigns AS c (
    user_id, name, description, objective, budget, daily_budget, currency,
    meta_campaign_id, meta_ad_set_id, meta_account_id, target_audience, target_locations,
    target_age_range, start_date, end_date, metadata)
SELECT u.id, $2::text, $3::text, $4::text, $5::numeric, $6::numeric, $7::text,
       $8::text, $9::text, $10::text, $11::jsonb, $12::jsonb,
       $13::jsonb, $14::timestamptz, $15::timestamptz, $16::jsonb
FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL
RETURNING {CAMPAIGN_COLUMNS}
"""


async def campaign_create(
    *,
    user_id: uuid.UUID,
    name: str,
    budget: Decimal,
    objective: Objective = Objective.CONVERSIONS,
    description: str | None = None,
    daily_budget: Decimal | None = None,
    currency: str = "USD",
    meta_campaign_id: str | None = None,
    meta_ad_set_id: str | None = None,
    meta_account_id: str | None = None,
    target_audience: Mapping[str, Any] | None = None,
    target_locations: Sequence[str] | None = None,
    target_age_range: Mapping[str, Any] | None = None,
    start_date: datetime.datetime | None = None,
    end_date: datetime.datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> CampaignRecord:
    """Create a DRAFT campaign for a live user.

    Raises NotFoundError (field ``user_id``) for an unknown or soft-deleted user,
    ConflictError (field ``meta_campaign_id``) when another campaign has that Meta id, and
    AdsValidationError naming the field for a bad value.
    """
    start = check.aware(start_date, field="start_date")
    end = check.aware(end_date, field="end_date")
    check.ordered_dates(start, end)
    args = (
        user_id,
        check.text(name, field="name"),
        description,
        _objective(objective),
        check.money(budget, field="budget"),
        check.money(daily_budget, field="daily_budget", allow_none=True),
        check.currency(currency),
        _optional_text(meta_campaign_id, field="meta_campaign_id"),
        _optional_text(meta_ad_set_id, field="meta_ad_set_id"),
        _optional_text(meta_account_id, field="meta_account_id"),
        _dumps(_json_object(target_audience, field="target_audience")),
        _dumps(_locations(target_locations)),
        _dumps(check.age_range(target_age_range) if target_age_range is not None else {}),
        start,
        end,
        _dumps(_json_object(metadata, field="metadata")),
    )
    async with connection() as conn:
        row = await conn.fetchrow(_CAMPAIGN_INSERT, *args)
    if row is None:
        raise NotFoundError(f"user {user_id} not found", field="user_id", rule="exists")
    return CampaignRecord.from_row(row)


async def campaign_update(
    *,
    campaign_id: uuid.UUID,
    name: str | _Unset = UNSET,
    description: str | _Unset | None = UNSET,
    objective: Objective | _Unset = UNSET,
    budget: Decimal | _Unset = UNSET,
    daily_budget: Decimal | _Unset | None = UNSET,
    currency: str | _Unset = UNSET,
    meta_campaign_id: str | _Unset | None = UNSET,
    meta_ad_set_id: str | _Unset | None = UNSET,
    meta_account_id: str | _Unset | None = UNSET,
    target_audience: Mapping[str, Any] | _Unset = UNSET,
    target_locations: Sequence[str] | _Unset = UNSET,
    target_age_range: Mapping[str, Any] | _Unset = UNSET,
    start_date: datetime.datetime | _Unset | None = UNSET,
    end_date: datetime.datetime | _Unset | None = UNSET,
    metadata: Mapping[str, Any] | _Unset = UNSET,
) -> CampaignRecord:
    """Change the given columns of a live campaign; the others stay as they are.

    The status and the running totals have their own functions
    (:func:`campaign_transition`, :func:`campaign_add_totals`).
    """
    values: dict[str, tuple[Any, str]] = {}
    if name is not UNSET:
        values["name"] = (check.text(name, field="name"), "text")
    if description is not UNSET:
        values["description"] = (description, "text")
    if objective is not UNSET:
        values["objective"] = (_objective(objective), "text")
    if budget is not UNSET:
        values["budget"] = (check.money(budget, field="budget"), "numeric")
    if daily_budget is not UNSET:
        amount = check.money(daily_budget, field="daily_budget", allow_none=True)
        values["daily_budget"] = (amount, "numeric")
    if currency is not UNSET:
        values["currency"] = (check.currency(currency), "text")
    for field, value in (
        ("meta_campaign_id", meta_campaign_id),
        ("meta_ad_set_id", meta_ad_set_id),
        ("meta_account_id", meta_account_id),
    ):
        if value is not UNSET:
            values[field] = (_optional_text(value, field=field), "text")
    if target_audience is not UNSET:
        audience = _json_object(target_audience, field="target_audience")
        values["target_audience"] = (_dumps(audience), "jsonb")
    if target_locations is not UNSET:
        values["target_locations"] = (_dumps(_locations(target_locations)), "jsonb")
    if target_age_range is not UNSET:
        values["target_age_range"] = (_dumps(check.age_range(target_age_range)), "jsonb")
    if start_date is not UNSET:
        values["start_date"] = (check.aware(start_date, field="start_date"), "timestamptz")
    if end_date is not UNSET:
        values["end_date"] = (check.aware(end_date, field="end_date"), "timestamptz")
    if start_date is not UNSET and end_date is not UNSET:
        check.ordered_dates(values["start_date"][0], values["end_date"][0])
    if metadata is not UNSET:
        values["metadata"] = (_dumps(_json_object(metadata, field="metadata")), "jsonb")
    if not values:
        return await campaign_get(campaign_id=campaign_id)
    assignments = ", ".join(
        f"{column} = ${index}::{cast}"
        for index, (column, (_, cast)) in enumerate(values.items(), start=2)
    )
    sql = (
        f"UPDATE campaigns c SET {assignments} FROM users u "
        f"WHERE c.id = $1 AND u.id = c.user_id AND {LIVE_CAMPAIGN} "
        f"RETURNING {CAMPAIGN_COLUMNS}"
    )
    async with connection() as conn:
        row = await conn.fetchrow(sql, campaign_id, *(value for value, _ in values.values()))
    if row is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    return CampaignRecord.from_row(row)


_CAMPAIGN_TRANSITION = f"""
UPDATE campaigns c SET status = $2 FROM users u
WHERE c.id = $1 AND u.id = c.user_id AND {LIVE_CAMPAIGN} AND c.status = ANY($3::text[])
RETURNING {CAMPAIGN_COLUMNS}
"""
_CAMPAIGN_STATUS = f"""
SELECT c.status FROM campaigns c JOIN users u ON u.id = c.user_id
WHERE c.id = $1 AND {LIVE_CAMPAIGN}
"""


async def campaign_transition(*, campaign_id: uuid.UUID, status: CampaignStatus) -> CampaignRecord:
    """Move a live campaign to ``status`` along ``CAMPAIGN_TRANSITIONS``, atomically.

    The UPDATE only matches while the current status is one allowed to move to ``status``
    (``WHERE status = ANY(allowed sources)``), so two concurrent changes cannot both apply
    from the same starting status. InvalidCampaignTransitionError otherwise.
    """
    try:
        target = CampaignStatus(status)
    except ValueError:
        raise AdsValidationError(
            f"status must be one of {', '.join(CampaignStatus)}", field="status", rule="choices"
        ) from None
    sources = _sources_of(CAMPAIGN_TRANSITIONS, target)
    async with connection() as conn:
        row = await conn.fetchrow(_CAMPAIGN_TRANSITION, campaign_id, target.value, sources)
        current = None if row else await conn.fetchval(_CAMPAIGN_STATUS, campaign_id)
    if row is not None:
        return CampaignRecord.from_row(row)
    if current is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    raise InvalidCampaignTransitionError(
        f"a {current} campaign cannot become {target.value}",
        field="status",
        rule=f"{current}->{target.value}",
    )


_ADD_TOTALS = """
UPDATE campaigns SET
    total_spend = total_spend + $2::numeric,
    total_impressions = total_impressions + $3::bigint,
    total_clicks = total_clicks + $4::bigint,
    total_conversions = total_conversions + $5::bigint
WHERE id = $1
RETURNING id, total_spend, total_impressions, total_clicks, total_conversions
"""


async def campaign_add_totals(
    *,
    campaign_id: uuid.UUID,
    spend: Decimal = Decimal(0),
    impressions: int = 0,
    clicks: int = 0,
    conversions: int = 0,
) -> CampaignTotals:
    """Add to a campaign's running totals in one atomic UPDATE and return the new totals.

    ``SET total = total + $n`` is evaluated on the latest row version under the row lock,
    so concurrent calls never lose an update. Soft-deleted campaigns still count (their
    figures must be right if they are restored); an unknown id is CampaignNotFoundError.
    """
    args = (
        campaign_id,
        check.money(spend, field="spend"),
        check.count(impressions, field="impressions"),
        check.count(clicks, field="clicks"),
        check.count(conversions, field="conversions"),
    )
    async with connection() as conn:
        try:
            row = await conn.fetchrow(_ADD_TOTALS, *args)
        except asyncpg.NumericValueOutOfRangeError:
            raise AdsValidationError(
                "total_spend would pass the NUMERIC(10,2) maximum", field="spend", rule="max"
            ) from None
    if row is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    return CampaignTotals(
        campaign_id=row["id"],
        total_spend=row["total_spend"],
        total_impressions=row["total_impressions"],
        total_clicks=row["total_clicks"],
        total_conversions=row["total_conversions"],
    )


async def campaign_delete(*, campaign_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a campaign (its experiments vanish from reads with it); return the time."""
    try:
        return await soft_delete_row(Campaign, row_id=campaign_id)
    except NotFoundError:
        raise CampaignNotFoundError(
            f"campaign {campaign_id} not found", field="campaign_id"
        ) from None


async def campaign_restore(*, campaign_id: uuid.UUID) -> None:
    """Bring a soft-deleted campaign back, and with it its experiments."""
    try:
        await restore_row(Campaign, row_id=campaign_id)
    except NotFoundError:
        raise CampaignNotFoundError(
            f"no deleted campaign {campaign_id}", field="campaign_id"
        ) from None


async def campaign_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete campaigns soft-deleted more than ``older_than`` ago; return how many.

    Their experiments go with them (ON DELETE CASCADE); their conversions stay, with
    ``campaign_id`` set to NULL.
    """
    return await purge_rows(Campaign, older_than=older_than)


# --------------------------------------------------------------------------- experiments


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
                "settings": _json_object(
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
    campaign_id, name, description, variants, start_date, end_date, metadata)
SELECT c.id, $2::text, $3::text, $4::jsonb, $5::timestamptz, $6::timestamptz, $7::jsonb
FROM campaigns c JOIN users u ON u.id = c.user_id
WHERE c.id = $1 AND {LIVE_CAMPAIGN}
RETURNING {EXPERIMENT_COLUMNS}
"""


async def experiment_create(
    *,
    campaign_id: uuid.UUID,
    name: str,
    variants: Sequence[Mapping[str, Any]],
    description: str | None = None,
    start_date: datetime.datetime | None = None,
    end_date: datetime.datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ExperimentRecord:
    """Create a DRAFT A/B experiment in a live campaign.

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
        _dumps(_variants(variants)),
        start,
        end,
        _dumps(_json_object(metadata, field="metadata")),
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
    sources = _sources_of(EXPERIMENT_TRANSITIONS, target)
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
            _dumps(metrics),
        )
    assert completed is not None  # the row is locked by this transaction
    return ExperimentRecord.from_row(completed)


async def experiment_delete(*, experiment_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete an experiment; return the time."""
    try:
        return await soft_delete_row(Experiment, row_id=experiment_id)
    except NotFoundError:
        raise ExperimentNotFoundError(
            f"experiment {experiment_id} not found", field="experiment_id"
        ) from None


async def experiment_restore(*, experiment_id: uuid.UUID) -> None:
    """Bring a soft-deleted experiment back."""
    try:
        await restore_row(Experiment, row_id=experiment_id)
    except NotFoundError:
        raise ExperimentNotFoundError(
            f"no deleted experiment {experiment_id}", field="experiment_id"
        ) from None


async def experiment_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete experiments soft-deleted more than ``older_than`` ago; return how many."""
    return await purge_rows(Experiment, older_than=older_than)


# --------------------------------------------------------------------------- conversions

_CONVERSION_COLUMNS = (
    "source, external_id, value, currency, campaign_id, attributed_clip_id, "
    "attributed_ad_id, timestamp, metadata"
)
_CONVERSION_INSERT_ARRAYS = f"""
INSERT INTO conversions ({_CONVERSION_COLUMNS})
SELECT $1::text, x.external_id, x.value, x.currency, x.campaign_id, x.clip_id, x.ad_id,
       COALESCE(x.ts, now()), x.metadata::jsonb
FROM unnest($2::text[], $3::numeric[], $4::text[], $5::uuid[], $6::uuid[], $7::text[],
            $8::timestamptz[], $9::text[])
     AS x(external_id, value, currency, campaign_id, clip_id, ad_id, ts, metadata)
ORDER BY x.external_id
ON CONFLICT (external_id) DO NOTHING
RETURNING external_id, campaign_id
"""
_INCOMING_TABLE = "ads_conversions_incoming"
_INCOMING_CREATE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_INCOMING_TABLE} (
    external_id text, value numeric, currency text, campaign_id uuid, clip_id uuid,
    ad_id text, ts timestamptz, metadata jsonb
) ON COMMIT DELETE ROWS
"""
_CONVERSION_INSERT_COPIED = f"""
INSERT INTO conversions ({_CONVERSION_COLUMNS})
SELECT $1::text, x.external_id, x.value, x.currency, x.campaign_id, x.clip_id, x.ad_id,
       COALESCE(x.ts, now()), x.metadata
FROM {_INCOMING_TABLE} x
ORDER BY x.external_id
ON CONFLICT (external_id) DO NOTHING
RETURNING external_id, campaign_id
"""
_BUMP_CONVERSIONS = (
    "UPDATE campaigns SET total_conversions = total_conversions + $2::bigint WHERE id = $1"
)


def _conversion(index: int, item: Any) -> ConversionInput:
    if not isinstance(item, ConversionInput):
        raise AdsValidationError(
            f"conversions[{index}] must be a ConversionInput",
            field=f"conversions[{index}]",
            rule="type",
        )
    where = f"conversions[{index}]"
    check.text(item.external_id, field=f"{where}.external_id")
    check.money(item.value, field=f"{where}.value")
    check.currency(item.currency, field=f"{where}.currency")
    check.aware(item.timestamp, field=f"{where}.timestamp")
    _json_object(item.metadata, field=f"{where}.metadata")
    return item


async def conversion_ingest_batch(
    *, source: ConversionSource, conversions: Sequence[ConversionInput]
) -> IngestResult:
    """Store a batch of reported conversions idempotently, in one transaction.

    A conversion whose ``external_id`` is already stored (or appears earlier in the same
    batch) is skipped: re-delivering a batch changes nothing, and concurrent deliveries of
    the same conversion store and count it once (the unique index on external_id decides).
    Each new conversion adds 1 to its campaign's ``total_conversions``; its ``value`` is
    revenue, summed by :func:`apps.ads.selectors.campaign_rollup`, not a campaign total.
    Rows are inserted, and campaigns updated, in key order so that concurrent batches
    cannot deadlock. An unknown campaign or clip fails the whole batch (NotFoundError
    naming ``campaign_id`` or ``attributed_clip_id``): nothing is half written.
    """
    try:
        source_value = ConversionSource(source).value
    except ValueError:
        raise AdsValidationError(
            f"source must be one of {', '.join(ConversionSource)}", field="source", rule="choices"
        ) from None
    items = sorted(
        (_conversion(i, item) for i, item in enumerate(conversions)),
        key=lambda item: item.external_id,
    )
    if not items:
        return IngestResult(received=0, inserted=0, duplicates=0, new_external_ids=())
    async with transaction(), connection() as conn:
        if len(items) > COPY_THRESHOLD:
            await conn.execute(_INCOMING_CREATE)
            await conn.execute(f"TRUNCATE {_INCOMING_TABLE}")
            await conn.copy_records_to_table(
                _INCOMING_TABLE,
                records=[
                    (
                        c.external_id,
                        c.value,
                        c.currency,
                        c.campaign_id,
                        c.attributed_clip_id,
                        c.attributed_ad_id,
                        c.timestamp,
                        _dumps(c.metadata),
                    )
                    for c in items
                ],
            )
            rows = await conn.fetch(_CONVERSION_INSERT_COPIED, source_value)
        else:
            rows = await conn.fetch(
                _CONVERSION_INSERT_ARRAYS,
                source_value,
                [c.external_id for c in items],
                [c.value for c in items],
                [c.currency for c in items],
                [c.campaign_id for c in items],
                [c.attributed_clip_id for c in items],
                [c.attributed_ad_id for c in items],
                [c.timestamp for c in items],
                [_dumps(c.metadata) for c in items],
            )
        per_campaign = Counter(row["campaign_id"] for row in rows if row["campaign_id"])
        if per_campaign:
            await conn.executemany(_BUMP_CONVERSIONS, sorted(per_campaign.items()))
    return IngestResult(
        received=len(items),
        inserted=len(rows),
        duplicates=len(items) - len(rows),
        new_external_ids=tuple(row["external_id"] for row in rows),
    )


# ----------------------------------------------------------------- performance metrics

# roas = revenue / spend rounded to 2 places (0 when spend is 0: the column is NOT NULL);
# ctr = clicks / impressions rounded to 4 places (NULL when there were no impressions).
_METRIC_UPSERT = f"""
INSERT INTO performance_metrics AS pm (
    asset_id, platform, date, impressions, clicks, conversions, spend, revenue, roas, ctr,
    raw_data)
SELECT a.id, $2::text, $3::date, $4::bigint, $5::bigint, $6::bigint, $7::numeric, $8::numeric,
       COALESCE(round($8::numeric / NULLIF($7::numeric, 0), 2), 0),
       round($5::bigint::numeric / NULLIF($4::bigint, 0), 4),
       $9::jsonb
FROM assets a WHERE a.id = $1 AND a.deleted_at IS NULL
ON CONFLICT (asset_id, platform, date) DO UPDATE SET
    impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions, spend = EXCLUDED.spend, revenue = EXCLUDED.revenue,
    roas = EXCLUDED.roas, ctr = EXCLUDED.ctr, raw_data = EXCLUDED.raw_data
RETURNING {PERFORMANCE_METRIC_COLUMNS}
"""


async def performance_metric_upsert(
    *,
    asset_id: uuid.UUID,
    date: datetime.date,
    platform: str = "meta",
    impressions: int = 0,
    clicks: int = 0,
    conversions: int = 0,
    spend: Decimal = Decimal(0),
    revenue: Decimal = Decimal(0),
    raw_data: Mapping[str, Any] | None = None,
) -> PerformanceMetricRecord:
    """Store a day's figures of a live asset on a platform, replacing that day's earlier ones.

    One row per (asset, platform, date): ``INSERT ... ON CONFLICT DO UPDATE``. ``roas`` and
    ``ctr`` are derived here, never taken from the caller, so they always match the figures.
    """
    if isinstance(date, datetime.datetime) or not isinstance(date, datetime.date):
        raise AdsValidationError("date must be a datetime.date", field="date", rule="date")
    impressions = check.count(impressions, field="impressions")
    clicks = check.count(clicks, field="clicks")
    if clicks > impressions:
        raise AdsValidationError(
            "clicks cannot exceed impressions", field="clicks", rule="<= impressions"
        )
    args = (
        asset_id,
        check.text(platform, field="platform").lower(),
        date,
        impressions,
        clicks,
        check.count(conversions, field="conversions"),
        check.money(spend, field="spend"),
        check.money(revenue, field="revenue"),
        None if raw_data is None else _dumps(_json_object(raw_data, field="raw_data")),
    )
    async with connection() as conn:
        try:
            row = await conn.fetchrow(_METRIC_UPSERT, *args)
        except asyncpg.NumericValueOutOfRangeError:
            raise AdsValidationError(
                "revenue / spend does not fit roas NUMERIC(10,2)", field="roas", rule="max"
            ) from None
    if row is None:
        raise NotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    return PerformanceMetricRecord.from_row(row)
