"""Campaign writes: create, update, status transitions, running totals, soft delete."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from apps.ads import validation as check
from apps.ads._db import connection
from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    InvalidCampaignTransitionError,
)
from apps.ads.records import CAMPAIGN_COLUMNS, CampaignRecord, CampaignTotals
from apps.ads.selectors import LIVE_CAMPAIGN, campaign_get
from apps.ads.services._common import UNSET, Unset, dumps, json_object, sources_of
from apps.ads.tables import Campaign, CampaignStatus, Objective
from apps.core.errors import GatewayError, NotFoundError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.validation import INT64_MAX, validated

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


_CAMPAIGN_INSERT = f"""
INSERT INTO campaigns AS c (
    id, user_id, name, description, objective, budget, daily_budget, currency,
    meta_campaign_id, meta_ad_set_id, meta_account_id, target_audience, target_locations,
    target_age_range, start_date, end_date, metadata)
SELECT coalesce($17::uuid, gen_random_uuid()), u.id, $2::text, $3::text, $4::text,
       $5::numeric, $6::numeric, $7::text,
       $8::text, $9::text, $10::text, $11::jsonb, $12::jsonb,
       $13::jsonb, $14::timestamptz, $15::timestamptz, $16::jsonb
FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL
RETURNING {CAMPAIGN_COLUMNS}
"""


@validated(error=AdsValidationError)
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
    campaign_id: uuid.UUID | None = None,
) -> CampaignRecord:
    """Create a DRAFT campaign for a live user (``campaign_id`` fixes the id, e.g. for
    sample data; by default the database generates it).

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
        dumps(json_object(target_audience, field="target_audience")),
        dumps(_locations(target_locations)),
        dumps(check.age_range(target_age_range) if target_age_range is not None else {}),
        start,
        end,
        dumps(json_object(metadata, field="metadata")),
        campaign_id,
    )
    async with connection() as conn:
        row = await conn.fetchrow(_CAMPAIGN_INSERT, *args)
    if row is None:
        raise NotFoundError(f"user {user_id} not found", field="user_id", rule="exists")
    return CampaignRecord.from_row(row)


@validated(error=AdsValidationError)
async def campaign_update(
    *,
    campaign_id: uuid.UUID,
    name: str | Unset = UNSET,
    description: str | Unset | None = UNSET,
    objective: Objective | Unset = UNSET,
    budget: Decimal | Unset = UNSET,
    daily_budget: Decimal | Unset | None = UNSET,
    currency: str | Unset = UNSET,
    meta_campaign_id: str | Unset | None = UNSET,
    meta_ad_set_id: str | Unset | None = UNSET,
    meta_account_id: str | Unset | None = UNSET,
    target_audience: Mapping[str, Any] | Unset = UNSET,
    target_locations: Sequence[str] | Unset = UNSET,
    target_age_range: Mapping[str, Any] | Unset = UNSET,
    start_date: datetime.datetime | Unset | None = UNSET,
    end_date: datetime.datetime | Unset | None = UNSET,
    metadata: Mapping[str, Any] | Unset = UNSET,
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
        audience = json_object(target_audience, field="target_audience")
        values["target_audience"] = (dumps(audience), "jsonb")
    if target_locations is not UNSET:
        values["target_locations"] = (dumps(_locations(target_locations)), "jsonb")
    if target_age_range is not UNSET:
        values["target_age_range"] = (dumps(check.age_range(target_age_range)), "jsonb")
    if start_date is not UNSET:
        values["start_date"] = (check.aware(start_date, field="start_date"), "timestamptz")
    if end_date is not UNSET:
        values["end_date"] = (check.aware(end_date, field="end_date"), "timestamptz")
    if start_date is not UNSET and end_date is not UNSET:
        check.ordered_dates(values["start_date"][0], values["end_date"][0])
    if metadata is not UNSET:
        values["metadata"] = (dumps(json_object(metadata, field="metadata")), "jsonb")
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


@validated(error=AdsValidationError)
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
    sources = sources_of(CAMPAIGN_TRANSITIONS, target)
    async with connection() as conn:
        row = await conn.fetchrow(_CAMPAIGN_TRANSITION, campaign_id, target.value, sources)
        current = None if row else await conn.fetchval(_CAMPAIGN_STATUS, campaign_id)
    if row is not None:
        return CampaignRecord.from_row(row)
    if current is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    article = "an" if current[0] in "AEIOU" else "a"
    raise InvalidCampaignTransitionError(
        f"{article} {current} campaign cannot become {target.value}",
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
    -- A total that would leave its column's range is not written: the caller is told which.
    AND total_spend <= 99999999.99 - $2::numeric
    AND total_impressions <= 9223372036854775807 - $3::bigint
    AND total_clicks <= 9223372036854775807 - $4::bigint
    AND total_conversions <= 9223372036854775807 - $5::bigint
RETURNING id, total_spend, total_impressions, total_clicks, total_conversions
"""


async def _not_added(conn: Any, args: tuple[Any, ...]) -> GatewayError:
    """Why the UPDATE touched no row: an unknown campaign, or a total out of its range."""
    row = await conn.fetchrow(_CURRENT_TOTALS, args[0])
    if row is None:
        return CampaignNotFoundError(f"campaign {args[0]} not found", field="campaign_id")
    limits = (
        ("spend", "total_spend", check.MONEY_MAX),
        ("impressions", "total_impressions", INT64_MAX),
        ("clicks", "total_clicks", INT64_MAX),
        ("conversions", "total_conversions", INT64_MAX),
    )
    for position, (field, column, maximum) in enumerate(limits, start=1):
        if row[column] + args[position] > maximum:
            return AdsValidationError(
                f"{column} would pass its maximum ({maximum})", field=field, rule="max"
            )
    return AdsValidationError(  # pragma: no cover - one of the totals overflowed
        "a running total would pass its maximum", field="spend", rule="max"
    )


_CURRENT_TOTALS = (
    "SELECT total_spend, total_impressions, total_clicks, total_conversions "
    "FROM campaigns WHERE id = $1"
)


@validated(error=AdsValidationError)
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
        row = await conn.fetchrow(_ADD_TOTALS, *args)
        if row is None:
            raise await _not_added(conn, args)
    return CampaignTotals(
        campaign_id=row["id"],
        total_spend=row["total_spend"],
        total_impressions=row["total_impressions"],
        total_clicks=row["total_clicks"],
        total_conversions=row["total_conversions"],
    )


@validated(error=AdsValidationError)
async def campaign_delete(*, campaign_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a campaign (its experiments vanish from reads with it); return the time."""
    return await soft_delete_row(
        Campaign,
        row_id=campaign_id,
        not_found=CampaignNotFoundError,
        field="campaign_id",
        entity="campaign",
    )


@validated(error=AdsValidationError)
async def campaign_restore(*, campaign_id: uuid.UUID) -> None:
    """Bring a soft-deleted campaign back, and with it its experiments."""
    await restore_row(
        Campaign,
        row_id=campaign_id,
        not_found=CampaignNotFoundError,
        field="campaign_id",
        entity="campaign",
    )


@validated(error=AdsValidationError)
async def campaign_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete campaigns soft-deleted more than ``older_than`` ago; return how many.

    Their experiments go with them (ON DELETE CASCADE); their conversions stay, with
    ``campaign_id`` set to NULL.
    """
    return await purge_rows(Campaign, older_than=older_than)
