"""Campaign writes: create, update, status transitions, running totals, soft delete."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from piccolo.columns import Column
from piccolo.query import WhereRaw
from piccolo.querystring import QueryString

from apps.ads.errors import (
    AdsValidationError,
    CampaignNotFoundError,
    InvalidCampaignTransitionError,
)
from apps.ads.records import CampaignRecord, CampaignTotals
from apps.ads.selectors import CAMPAIGN_COLUMNS, campaign_get
from apps.ads.tables import Campaign, CampaignStatus, Objective
from apps.core import rawsql
from apps.core.errors import NotFoundError
from apps.core.records import Row
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.transitions import Transitions
from apps.core.unset import UNSET, Unset, given
from apps.core.validation import (
    INT64_MAX,
    MONEY_MAX,
    aware,
    count,
    json_object,
    money,
    not_before,
    not_blank,
    validated,
)
from apps.core.validation import (
    currency as check_currency,
)
from apps.users.selectors import user_is_live

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
_MACHINE = Transitions(
    CAMPAIGN_TRANSITIONS, entity="campaign", error=InvalidCampaignTransitionError
)

# What the cold paths written with Piccolo's query builder return: a CampaignRecord.
_RETURNING = Campaign.all_columns(exclude=[Campaign.deleted_at])


def _live(campaign_id: uuid.UUID) -> Any:
    """Piccolo's WHERE for "the campaign ``campaign_id`` is live" (its owner live too)."""
    return (
        (Campaign.id == campaign_id)
        & Campaign.deleted_at.is_null()
        & WhereRaw(user_is_live("campaigns.user_id"))
    )


def _not_found(campaign_id: uuid.UUID) -> CampaignNotFoundError:
    return CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")


def _locations(value: Any) -> str:
    """Country codes as the JSON text of an array (None is [])."""
    if value is None:
        return "[]"
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
    return json.dumps(codes)


def _age_range(value: Any) -> str:
    """``{"min": 25, "max": 45}`` with 13 <= min <= max <= 120 (either bound may be left
    out; None is ``{}``), as JSON text."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping) or set(value) - {"min", "max"}:
        raise AdsValidationError(
            "target_age_range must be a dict with min and/or max",
            field="target_age_range",
            rule="json_object",
        )
    low, high = value.get("min", 13), value.get("max", 120)
    if not (isinstance(low, int) and isinstance(high, int) and 13 <= low <= high <= 120):
        raise AdsValidationError(
            "target_age_range needs 13 <= min <= max <= 120",
            field="target_age_range",
            rule="range",
        )
    return json_object(value, field="target_age_range")


def _optional_text(value: str | None, *, field: str) -> str | None:
    return None if value is None else not_blank(value, field=field)


def _dates(start: datetime.datetime | None, end: datetime.datetime | None) -> None:
    aware(start, field="start_date")
    aware(end, field="end_date")
    not_before(start, end, field="end_date", start_field="start_date")


# One statement: the owner's liveness is checked by the INSERT itself (no row when the user
# is absent or soft-deleted), which the query builder cannot express.
_CAMPAIGN_INSERT = rawsql.statement(
    f"""
INSERT INTO campaigns AS c (
    id, user_id, name, description, objective, budget, daily_budget, currency,
    meta_campaign_id, meta_ad_set_id, meta_account_id, target_audience, target_locations,
    target_age_range, start_date, end_date, metadata)
SELECT coalesce($17::uuid, gen_random_uuid()), $1::uuid, $2::text, $3::text, $4::text,
       $5::numeric, $6::numeric, $7::text,
       $8::text, $9::text, $10::text, $11::jsonb, $12::jsonb,
       $13::jsonb, $14::timestamptz, $15::timestamptz, $16::jsonb
WHERE {user_is_live("$1::uuid")}
RETURNING {CAMPAIGN_COLUMNS}
""",
    owner=__name__,
)


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
    _dates(start_date, end_date)
    args = (
        user_id,
        not_blank(name, field="name"),
        description,
        Objective(objective).value,
        money(budget, field="budget"),
        None if daily_budget is None else money(daily_budget, field="daily_budget"),
        check_currency(currency),
        _optional_text(meta_campaign_id, field="meta_campaign_id"),
        _optional_text(meta_ad_set_id, field="meta_ad_set_id"),
        _optional_text(meta_account_id, field="meta_account_id"),
        json_object(target_audience, field="target_audience"),
        _locations(target_locations),
        _age_range(target_age_range),
        start_date,
        end_date,
        json_object(metadata, field="metadata"),
        campaign_id,
    )
    row = await rawsql.fetchrow(
        rawsql.engine_of(Campaign), _CAMPAIGN_INSERT, *args, record_class=CampaignRecord
    )
    if row is None:
        raise NotFoundError(f"user {user_id} not found", field="user_id", rule="exists")
    return row


# How each argument of campaign_update becomes its column's value (the identity if absent).
_UPDATE_CHECKS: dict[str, Any] = {
    "name": lambda value: not_blank(value, field="name"),
    "objective": lambda value: Objective(value).value,
    "budget": lambda value: money(value, field="budget"),
    "daily_budget": lambda value: None if value is None else money(value, field="daily_budget"),
    "currency": lambda value: check_currency(value),
    "meta_campaign_id": lambda value: _optional_text(value, field="meta_campaign_id"),
    "meta_ad_set_id": lambda value: _optional_text(value, field="meta_ad_set_id"),
    "meta_account_id": lambda value: _optional_text(value, field="meta_account_id"),
    "target_audience": lambda value: json_object(value, field="target_audience"),
    "target_locations": _locations,
    "target_age_range": _age_range,
    "start_date": lambda value: aware(value, field="start_date"),
    "end_date": lambda value: aware(value, field="end_date"),
    "metadata": lambda value: json_object(value, field="metadata"),
}


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
    changes = given(
        name=name,
        description=description,
        objective=objective,
        budget=budget,
        daily_budget=daily_budget,
        currency=currency,
        meta_campaign_id=meta_campaign_id,
        meta_ad_set_id=meta_ad_set_id,
        meta_account_id=meta_account_id,
        target_audience=target_audience,
        target_locations=target_locations,
        target_age_range=target_age_range,
        start_date=start_date,
        end_date=end_date,
        metadata=metadata,
    )
    values: dict[Column | str, Any] = {
        Campaign._meta.get_column_by_name(column): _UPDATE_CHECKS.get(column, _same)(value)
        for column, value in changes.items()
    }
    if "start_date" in changes and "end_date" in changes:
        _dates(changes["start_date"], changes["end_date"])
    if not values:
        return await campaign_get(campaign_id=campaign_id)
    row = await rawsql.fetchrow_query(
        Campaign.update(values).where(_live(campaign_id)).returning(*_RETURNING),
        record_class=CampaignRecord,
    )
    if row is None:
        raise _not_found(campaign_id)
    return row


def _same(value: Any) -> Any:
    return value


class _Current(Row):
    """The columns read back to tell why an UPDATE matched no row."""

    __slots__ = ()


@validated(error=AdsValidationError)
async def campaign_transition(*, campaign_id: uuid.UUID, status: CampaignStatus) -> CampaignRecord:
    """Move a live campaign to ``status`` along ``CAMPAIGN_TRANSITIONS``, atomically.

    The UPDATE only matches while the current status is one allowed to move to ``status``
    (``WHERE status = ANY(allowed sources)``), so two concurrent changes cannot both apply
    from the same starting status. InvalidCampaignTransitionError otherwise.
    """
    target = CampaignStatus(status)
    row = await rawsql.fetchrow_query(
        Campaign.update({Campaign.status: target.value})
        .where(_live(campaign_id) & Campaign.status.is_in(_MACHINE.sources(target)))
        .returning(*_RETURNING),
        record_class=CampaignRecord,
    )
    if row is not None:
        return row
    current = await rawsql.fetchrow_query(
        Campaign.select(Campaign.status).where(_live(campaign_id)), record_class=_Current
    )
    if current is None:
        raise _not_found(campaign_id)
    raise _MACHINE.refused(current=current["status"], target=target)


# The running totals and the range each must stay in: (argument, column, maximum).
_TOTALS = (
    ("spend", Campaign.total_spend, MONEY_MAX),
    ("impressions", Campaign.total_impressions, INT64_MAX),
    ("clicks", Campaign.total_clicks, INT64_MAX),
    ("conversions", Campaign.total_conversions, INT64_MAX),
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
    so concurrent calls never lose an update. A total that would leave its column's range is
    not written (the UPDATE's WHERE refuses it) and the caller is told which (rule ``max``).
    Soft-deleted campaigns still count (their figures must be right if they are restored);
    an unknown id is CampaignNotFoundError.
    """
    added: dict[str, Any] = {
        "spend": money(spend, field="spend"),
        "impressions": count(impressions, field="impressions"),
        "clicks": count(clicks, field="clicks"),
        "conversions": count(conversions, field="conversions"),
    }
    where: Any = Campaign.id == campaign_id
    for argument, column, maximum in _TOTALS:
        where &= column <= maximum - added[argument]
    # Column arithmetic (Piccolo's ``column + n`` has no NUMERIC form, hence QueryString).
    values: dict[Column | str, Any] = {
        column: QueryString(f'"{column._meta.db_column_name}" + {{}}', added[argument])
        for argument, column, _ in _TOTALS
    }
    row = await rawsql.fetchrow_query(
        Campaign.update(values)
        .where(where)
        .returning(Campaign.id.as_alias("campaign_id"), *(column for _, column, _ in _TOTALS)),
        record_class=CampaignTotals,
    )
    if row is not None:
        return row
    current = await rawsql.fetchrow_query(
        Campaign.select(*(column for _, column, _ in _TOTALS)).where(Campaign.id == campaign_id),
        record_class=_Current,
    )
    if current is None:
        raise _not_found(campaign_id)
    for argument, column, maximum in _TOTALS:
        name = column._meta.db_column_name
        if current[name] + added[argument] > maximum:
            raise AdsValidationError(
                f"{name} would pass its maximum ({maximum})", field=argument, rule="max"
            )
    raise AdsValidationError(  # pragma: no cover - one of the totals overflowed
        "a running total would pass its maximum", field="spend", rule="max"
    )


# How soft delete and restore name a missing campaign.
_ROW: Final[dict[str, Any]] = {
    "not_found": CampaignNotFoundError,
    "field": "campaign_id",
    "entity": "campaign",
}


@validated(error=AdsValidationError)
async def campaign_soft_delete(*, campaign_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete a campaign (its experiments vanish from reads with it); return the time."""
    return await soft_delete_row(Campaign, row_id=campaign_id, **_ROW)


@validated(error=AdsValidationError)
async def campaign_restore(*, campaign_id: uuid.UUID) -> None:
    """Bring a soft-deleted campaign back, and with it its experiments."""
    await restore_row(Campaign, row_id=campaign_id, **_ROW)


@validated(error=AdsValidationError)
async def campaign_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete campaigns soft-deleted more than ``older_than`` ago; return how many.

    Their experiments go with them (ON DELETE CASCADE); their conversions stay, with
    ``campaign_id`` set to NULL.
    """
    return await purge_rows(Campaign, older_than=older_than)
