"""Reads of the ads app: campaigns, experiments, conversions, metrics and rollups.

Default reads never return soft-deleted rows, nor rows whose parent is soft-deleted: a
campaign of a soft-deleted user, an experiment of a soft-deleted campaign, the metrics of an
asset that is not live (media's definition: the asset and its owner live). Lists are
keyset-paginated with signed cursors (:mod:`apps.core.pagination`); the cursor condition is a
row comparison, ``(sort_key, id) < ($n, $m)``, which a b-tree index on the sort key serves as
an index condition. A list with optional filters has one prepared statement per combination
of filters, all built here at import time.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from apps.ads.errors import AdsValidationError, CampaignNotFoundError, ExperimentNotFoundError
from apps.ads.records import (
    CampaignRecord,
    CampaignRollup,
    CampaignSummary,
    ConversionRecord,
    ExperimentRecord,
    PerformanceMetricRecord,
    RollupRow,
)
from apps.ads.tables import Campaign, CampaignStatus, Conversion, Experiment, PerformanceMetric
from apps.core import rawsql
from apps.core.keyset import KeysetList, optional
from apps.core.pagination import Page
from apps.core.records import Column
from apps.core.replicas import lag_tolerant
from apps.core.validation import validated
from apps.media.selectors import LIVE_CLIP_ASSETS, asset_is_live
from apps.users.selectors import user_is_live, user_label

R = TypeVar("R")

CAMPAIGN_COLUMNS = rawsql.columns(Campaign, "c", exclude=("deleted_at",))


def _fields(record_class: type) -> tuple[str, ...]:
    """The column names a Row class reads (its ``Column`` attributes, inherited ones too)."""
    return tuple(
        name
        for klass in record_class.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, Column)
    )


CAMPAIGN_SUMMARY_COLUMNS = rawsql.columns(Campaign, "c", only=_fields(CampaignSummary))
EXPERIMENT_COLUMNS = rawsql.columns(Experiment, "e", exclude=("deleted_at",))
CONVERSION_COLUMNS = rawsql.columns(
    Conversion, "cv", exclude=("metadata", "created_at", "updated_at")
)
PERFORMANCE_METRIC_COLUMNS = rawsql.columns(
    PerformanceMetric, "pm", exclude=("raw_data", "created_at", "updated_at")
)

# Visibility: a live campaign (alias ``c``) is not soft-deleted and belongs to a live user.
LIVE_CAMPAIGN = "c.deleted_at IS NULL AND " + user_is_live("c.user_id")


def campaign_is_live(campaign_id: str) -> str:
    """The SQL condition "the campaign ``campaign_id`` is live": not soft-deleted, owner live.

    The ads app's one definition of a live campaign, for SQL whose rows hang off a campaign;
    ``campaign_id`` is a column reference or a ``$n`` parameter.
    """
    return (
        "EXISTS (SELECT 1 FROM campaigns live_c WHERE live_c.id = "
        f"{campaign_id} AND live_c.deleted_at IS NULL AND {user_is_live('live_c.user_id')})"
    )


def campaign_label(campaign_id: str) -> str:
    """The SQL expression labelling the campaign ``campaign_id`` for people (its name);
    ``campaign_id`` a column reference or ``$n``."""
    return f"(SELECT label_c.name FROM campaigns label_c WHERE label_c.id = {campaign_id})"


ROW_LABELS: dict[str, str] = {
    "campaigns": f"t.name || ' · ' || {user_label('t.user_id')}",
    "experiments": f"t.name || ' · campaign ' || {campaign_label('t.campaign_id')}",
}
"""How people tell apart a row (alias ``t``) of the ads tables: the admin's pickers of
soft-deleted rows use it. A table not named here is labelled by its readable columns."""


def _not_found(campaign_id: uuid.UUID) -> CampaignNotFoundError:
    return CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")


_CAMPAIGN_GET = rawsql.statement(
    f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = $1 AND {LIVE_CAMPAIGN}",
    owner=__name__,
)


@validated(error=AdsValidationError)
async def campaign_get(*, campaign_id: uuid.UUID) -> CampaignRecord:
    """The live campaign ``campaign_id``; CampaignNotFoundError otherwise."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(Campaign), _CAMPAIGN_GET, campaign_id, record_class=CampaignRecord
    )
    if row is None:
        raise _not_found(campaign_id)
    return row


_CAMPAIGN_LIST: KeysetList[CampaignSummary] = KeysetList(
    Campaign,
    select=f"SELECT {CAMPAIGN_SUMMARY_COLUMNS} FROM campaigns c",
    where=(LIVE_CAMPAIGN,),
    filters={"user": optional("c.user_id = $?"), "status": optional("c.status = $?")},
    order=(("c.created_at", "DESC"), ("c.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=CampaignSummary,
    owner=__name__,
)


@validated(error=AdsValidationError)
async def campaign_list(
    *,
    user_id: uuid.UUID | None = None,
    status: CampaignStatus | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CampaignSummary]:
    """Live campaigns, newest first (created_at, then id, descending), one page at a time."""
    status_value = CampaignStatus(status).value if status is not None else None
    return await _CAMPAIGN_LIST.page(
        limit=limit,
        cursor=cursor,
        # The filters are part of the list: a cursor of another filter is refused.
        list_name=f"campaigns:{user_id}:{status}",
        user=user_id,
        status=status_value,
    )


_LIVE_EXPERIMENT = f"e.deleted_at IS NULL AND {campaign_is_live('e.campaign_id')}"
_EXPERIMENT_GET = rawsql.statement(
    f"SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE e.id = $1 AND {_LIVE_EXPERIMENT}",
    owner=__name__,
)


@validated(error=AdsValidationError)
async def experiment_get(*, experiment_id: uuid.UUID) -> ExperimentRecord:
    """The live experiment ``experiment_id``; ExperimentNotFoundError otherwise."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(Experiment), _EXPERIMENT_GET, experiment_id, record_class=ExperimentRecord
    )
    if row is None:
        raise ExperimentNotFoundError(
            f"experiment {experiment_id} not found", field="experiment_id"
        )
    return row


_EXPERIMENT_LIST: KeysetList[ExperimentRecord] = KeysetList(
    Experiment,
    select=f"SELECT {EXPERIMENT_COLUMNS} FROM experiments e",
    where=("e.campaign_id = $1", "e.deleted_at IS NULL", campaign_is_live("$1")),
    order=(("e.created_at", "DESC"), ("e.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=ExperimentRecord,
    owner=__name__,
)


@validated(error=AdsValidationError)
async def experiment_list(
    *, campaign_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[ExperimentRecord]:
    """Live experiments of a live campaign, newest first, one page at a time."""
    return await _EXPERIMENT_LIST.page(
        campaign_id, limit=limit, cursor=cursor, list_name=f"experiments:{campaign_id}"
    )


_CONVERSION_LIST: KeysetList[ConversionRecord] = KeysetList(
    Conversion,
    select=f"SELECT {CONVERSION_COLUMNS} FROM conversions cv",
    where=("cv.campaign_id = $1", campaign_is_live("$1")),
    order=(("cv.timestamp", "DESC"), ("cv.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=ConversionRecord,
    owner=__name__,
)


@validated(error=AdsValidationError)
async def conversion_list(
    *, campaign_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[ConversionRecord]:
    """Conversions attributed to a live campaign, latest first (timestamp, then id)."""
    return await _CONVERSION_LIST.page(
        campaign_id, limit=limit, cursor=cursor, list_name=f"conversions:{campaign_id}"
    )


_PERFORMANCE_METRIC_LIST: KeysetList[PerformanceMetricRecord] = KeysetList(
    PerformanceMetric,
    select=f"SELECT {PERFORMANCE_METRIC_COLUMNS} FROM performance_metrics pm",
    where=("pm.asset_id = $1", "pm.date BETWEEN $2 AND $3", asset_is_live("$1")),
    filters={"platform": optional("pm.platform = $?")},
    order=(("pm.date", "DESC"), ("pm.id", "DESC")),
    types=(datetime.date, uuid.UUID),
    record_class=PerformanceMetricRecord,
    owner=__name__,
)


@lag_tolerant
@validated(error=AdsValidationError)
async def performance_metric_list(
    *,
    asset_id: uuid.UUID,
    platform: str | None = None,
    date_from: datetime.date = datetime.date.min,
    date_to: datetime.date = datetime.date.max,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[PerformanceMetricRecord]:
    """Daily figures of a live asset between two dates (inclusive), latest day first."""
    # stored in lower case by the upsert
    platform_value = platform.strip().lower() if platform is not None else None
    return await _PERFORMANCE_METRIC_LIST.page(
        asset_id,
        date_from,
        date_to,
        limit=limit,
        cursor=cursor,
        # The filters are part of the list: a cursor of another filter is refused.
        list_name=f"performance_metrics:{asset_id}:{platform}:{date_from}:{date_to}",
        platform=platform_value,
    )


def _rollup_sql(*, per_user: bool) -> str:
    """The rollup statement of one campaign (``$1`` its id) or of a user's (``$1`` the user).

    One query, one GROUP BY. Revenue and conversions come from the campaigns' conversions
    (value, counted on their UTC day); spend, impressions and clicks come from the daily
    performance_metrics of the campaigns' assets: the live assets (media's definition) of
    the live clips their conversions are attributed to (the schema's only link from a
    campaign to an asset). ``$2`` and ``$3`` bound the days. GROUPING SETS adds the total
    rows (day NULL).
    """
    key = "cv.campaign_id, " if per_user else ""
    la_key = "la.campaign_id, " if per_user else ""
    # The per-user form gives every campaign a total row even without figures; the single
    # form reports whether the campaign was found instead.
    empty = "UNION ALL SELECT camp.id, NULL, 0, 0, 0, 0, 0 FROM camp" if per_user else ""
    group = "(campaign_id, day), (campaign_id)" if per_user else "(day), ()"
    # Both forms give the same columns, so that their rows compare equal: the single form
    # reports in ``found`` whether the campaign exists (its total row comes even without
    # figures); the per-user form only has rows of campaigns that exist.
    campaign = "campaign_id" if per_user else "$1::uuid AS campaign_id"
    head = f"{campaign}, day, GROUPING(day) = 1 AS is_total"
    tail = "true AS found" if per_user else "EXISTS (SELECT 1 FROM camp) AS found"
    order = "campaign_id, day NULLS LAST" if per_user else "day NULLS LAST"
    where = "c.user_id = $1" if per_user else "c.id = $1"
    return rawsql.statement(
        f"""
WITH camp AS (SELECT c.id FROM campaigns c WHERE {where} AND {LIVE_CAMPAIGN}),
linked_assets AS (
    SELECT DISTINCT {key}lc.asset_id
    FROM conversions cv
    JOIN camp ON camp.id = cv.campaign_id
    JOIN {LIVE_CLIP_ASSETS} lc ON lc.clip_id = cv.attributed_clip_id
),
facts AS (
    SELECT {key}(cv.timestamp AT TIME ZONE 'UTC')::date AS day, cv.value AS revenue,
           1 AS conversions, 0::numeric AS spend, 0::bigint AS impressions, 0::bigint AS clicks
    FROM conversions cv JOIN camp ON camp.id = cv.campaign_id
    WHERE cv.timestamp >= ($2::date)::timestamp AT TIME ZONE 'UTC'
      AND cv.timestamp < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
    UNION ALL
    SELECT {la_key}pm.date, 0, 0, pm.spend, pm.impressions, pm.clicks
    FROM performance_metrics pm JOIN linked_assets la ON la.asset_id = pm.asset_id
    WHERE pm.date BETWEEN $2 AND $3
    {empty}
)
SELECT {head},
       COALESCE(sum(spend), 0)::numeric(12, 2) AS spend,
       COALESCE(sum(revenue), 0)::numeric(12, 2) AS revenue,
       COALESCE(sum(impressions), 0)::bigint AS impressions,
       COALESCE(sum(clicks), 0)::bigint AS clicks,
       COALESCE(sum(conversions), 0)::bigint AS conversions,
       round(sum(revenue) / NULLIF(sum(spend), 0), 4) AS roas,
       round(sum(clicks)::numeric / NULLIF(sum(impressions), 0), 4) AS ctr,
       round(sum(spend) / NULLIF(sum(conversions), 0), 2) AS cpa,
       {tail}
FROM facts
GROUP BY GROUPING SETS ({group})
ORDER BY {order}
""",
        owner=__name__,
    )


CAMPAIGN_ROLLUP_SQL = _rollup_sql(per_user=False)
# conversions_campaign_id_timestamp serves the date range per campaign in custom and generic
# plans alike.
CAMPAIGN_ROLLUPS_SQL = _rollup_sql(per_user=True)


@lag_tolerant
@validated(error=AdsValidationError)
async def campaign_rollup(
    *,
    campaign_id: uuid.UUID,
    date_from: datetime.date = datetime.date.min,
    date_to: datetime.date = datetime.date.max,
) -> CampaignRollup:
    """Spend, revenue, ROAS, CTR and CPA of a live campaign per day and in total.

    Days are UTC dates between ``date_from`` and ``date_to`` inclusive; days without any
    figure are left out. See ``_rollup_sql`` for where each figure comes from.
    """
    rows = await rawsql.fetch(
        rawsql.engine_of(Campaign),
        CAMPAIGN_ROLLUP_SQL,
        campaign_id,
        date_from,
        date_to,
        record_class=RollupRow,
    )
    if not rows or not rows[-1]["found"]:
        raise _not_found(campaign_id)
    *days, total = rows
    return CampaignRollup(campaign_id=campaign_id, days=tuple(days), total=total)


# Rollups default to the last 30 UTC days (today included): a bounded range keeps the plan
# of the prepared statement a range scan per campaign, and dashboards ask for recent days.
DEFAULT_ROLLUP_DAYS = 30


def default_rollup_range(
    since: datetime.date | None, until: datetime.date | None
) -> tuple[datetime.date, datetime.date]:
    """``since`` and ``until`` with the defaults filled in (``until`` today, UTC)."""
    until = until or datetime.datetime.now(datetime.UTC).date()
    since = since or until - datetime.timedelta(days=DEFAULT_ROLLUP_DAYS - 1)
    return since, until


@lag_tolerant
@validated(error=AdsValidationError)
async def campaign_rollups(
    *,
    user_id: uuid.UUID,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> list[CampaignRollup]:
    """Spend, revenue, ROAS, CTR and CPA of every live campaign of ``user_id``, per UTC day
    (days without figures left out) and in total, in one statement whatever the number of
    campaigns; ordered by campaign id. The days run from ``since`` to ``until`` inclusive
    (default: the last 30 days, today included). A user without live campaigns gets []."""
    since, until = default_rollup_range(since, until)
    if since > until:
        raise AdsValidationError("since must not be after until", field="since", rule="range")
    rows = await rawsql.fetch(
        rawsql.engine_of(Campaign),
        CAMPAIGN_ROLLUPS_SQL,
        user_id,
        since,
        until,
        record_class=RollupRow,
    )
    rollups: list[CampaignRollup] = []
    days: list[RollupRow] = []
    for row in rows:
        if not row["is_total"]:
            if row["day"] is not None:
                days.append(row)
            continue
        rollups.append(CampaignRollup(campaign_id=row["campaign_id"], days=tuple(days), total=row))
        days = []
    return rollups


# Every conversion in (created_at, id) order, one keyset page per statement; the row
# comparison is an index condition on conversions_created_at_id (constant cost per page).
# Conversions outlive their campaign, so the stream has them all.
_CONVERSION_STREAM = rawsql.statement(
    f"SELECT {CONVERSION_COLUMNS}, cv.created_at FROM conversions cv "
    "WHERE (cv.created_at, cv.id) > ($1, $2) ORDER BY cv.created_at, cv.id LIMIT $3",
    owner=__name__,
)
_STREAM_START = (datetime.datetime.min.replace(tzinfo=datetime.UTC), uuid.UUID(int=0))
MAX_STREAM_PAGE = 10_000


async def conversion_stream(*, page: int = 1000) -> AsyncIterator[ConversionRecord]:
    """Every conversion, oldest first ((created_at, id) order), ``page`` rows per statement:
    for export jobs. Nothing is held between pages (each borrows a pooled connection)."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_STREAM_PAGE:
        raise AdsValidationError(
            f"page must be an integer between 1 and {MAX_STREAM_PAGE}", field="page", rule="range"
        )
    after: tuple[Any, Any] = _STREAM_START
    engine = rawsql.engine_of(Conversion)
    while True:
        rows = await rawsql.fetch(
            engine, _CONVERSION_STREAM, *after, page, record_class=ConversionRecord
        )
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


_CAMPAIGN_CHOICES = rawsql.statement(
    f"SELECT c.id, c.name || ' · ' || c.status || ' · ' || {user_label('c.user_id')} AS label "
    f"FROM campaigns c WHERE {LIVE_CAMPAIGN} ORDER BY c.created_at DESC, c.name, c.id LIMIT $1",
    owner=__name__,
)
_EXPERIMENT_CHOICES = rawsql.statement(
    "SELECT e.id, e.name || ' · ' || e.status || ' · campaign ' || c.name AS label "
    "FROM experiments e JOIN campaigns c ON c.id = e.campaign_id "
    f"WHERE e.deleted_at IS NULL AND {LIVE_CAMPAIGN} "
    "ORDER BY e.created_at DESC, e.name, e.id LIMIT $1",
    owner=__name__,
)


@validated(error=AdsValidationError)
async def campaign_choices(*, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` live campaigns, newest first, labelled (name · status · owner)."""
    return await rawsql.fetch_choices(Campaign, _CAMPAIGN_CHOICES, limit)


@validated(error=AdsValidationError)
async def experiment_choices(*, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` live experiments of live campaigns, newest first, labelled
    (name · status · campaign)."""
    return await rawsql.fetch_choices(Experiment, _EXPERIMENT_CHOICES, limit)
