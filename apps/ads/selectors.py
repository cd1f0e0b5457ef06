"""Reads of the ads app: campaigns, experiments, conversions, metrics and rollups.

Default reads never return soft-deleted rows, nor rows whose parent is soft-deleted: a
campaign of a soft-deleted user, an experiment of a soft-deleted campaign, the metrics of a
soft-deleted asset. Lists are keyset-paginated with signed cursors
(:mod:`apps.core.pagination`); the cursor condition is a row comparison, ``(sort_key, id) <
($n, $m)``, which a b-tree index on the sort key serves as an index condition.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

from apps.ads._db import connection
from apps.ads.errors import AdsValidationError, CampaignNotFoundError, ExperimentNotFoundError
from apps.ads.records import (
    CAMPAIGN_COLUMNS,
    CAMPAIGN_SUMMARY_COLUMNS,
    EXPERIMENT_COLUMNS,
    PERFORMANCE_METRIC_COLUMNS,
    CampaignRecord,
    CampaignRollup,
    CampaignSummary,
    ConversionRecord,
    ExperimentRecord,
    PerformanceMetricRecord,
    RollupRow,
)
from apps.ads.tables import CampaignStatus
from apps.core.keyset import cursor_after, keyset_page
from apps.core.pagination import Page, page_size
from apps.core.validation import validated

LIVE_CAMPAIGN = "c.deleted_at IS NULL AND u.deleted_at IS NULL"

_CAMPAIGN_GET = f"""
SELECT {CAMPAIGN_COLUMNS}
FROM campaigns c JOIN users u ON u.id = c.user_id
WHERE c.id = $1 AND {LIVE_CAMPAIGN}
"""


@validated(error=AdsValidationError)
async def campaign_get(*, campaign_id: uuid.UUID) -> CampaignRecord:
    """The live campaign ``campaign_id``; CampaignNotFoundError otherwise."""
    async with connection() as conn:
        row = await conn.fetchrow(_CAMPAIGN_GET, campaign_id)
    if row is None:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    return CampaignRecord.from_row(row)


@validated(error=AdsValidationError)
async def campaign_list(
    *,
    user_id: uuid.UUID | None = None,
    status: CampaignStatus | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CampaignSummary]:
    """Live campaigns, newest first (created_at, then id, descending), one page at a time."""
    size = page_size(limit)
    # The filters are part of the list: a cursor of another filter is refused.
    list_name = f"campaigns:{user_id}:{status}"
    conditions = [LIVE_CAMPAIGN]
    args: list[Any] = []
    if user_id is not None:
        args.append(user_id)
        conditions.append(f"c.user_id = ${len(args)}")
    if status is not None:
        args.append(CampaignStatus(status).value)
        conditions.append(f"c.status = ${len(args)}")
    if cursor is not None:
        created_at, last_id = cursor_after(
            cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID)
        )
        args += [created_at, last_id]
        conditions.append(f"(c.created_at, c.id) < (${len(args) - 1}, ${len(args)})")
    args.append(size + 1)
    sql = (
        f"SELECT {CAMPAIGN_SUMMARY_COLUMNS} FROM campaigns c JOIN users u ON u.id = c.user_id "
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT ${len(args)}"
    )
    async with connection() as conn:
        rows = await conn.fetch(sql, *args)
    page = keyset_page(
        rows, limit=size, list_name=list_name, key=lambda r: (r["created_at"], r["id"])
    )
    return Page(
        items=[CampaignSummary.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )


_EXPERIMENT_GET = f"""
SELECT {EXPERIMENT_COLUMNS}
FROM experiments e
JOIN campaigns c ON c.id = e.campaign_id
JOIN users u ON u.id = c.user_id
WHERE e.id = $1 AND e.deleted_at IS NULL AND {LIVE_CAMPAIGN}
"""


@validated(error=AdsValidationError)
async def experiment_get(*, experiment_id: uuid.UUID) -> ExperimentRecord:
    """The live experiment ``experiment_id``; ExperimentNotFoundError otherwise."""
    async with connection() as conn:
        row = await conn.fetchrow(_EXPERIMENT_GET, experiment_id)
    if row is None:
        raise ExperimentNotFoundError(
            f"experiment {experiment_id} not found", field="experiment_id"
        )
    return ExperimentRecord.from_row(row)


@validated(error=AdsValidationError)
async def experiment_list(
    *, campaign_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[ExperimentRecord]:
    """Live experiments of a live campaign, newest first, one page at a time."""
    size = page_size(limit)
    # The filters are part of the list: a cursor of another filter is refused.
    list_name = f"experiments:{campaign_id}"
    args: list[Any] = [campaign_id]
    keyset = ""
    if cursor is not None:
        created_at, last_id = cursor_after(
            cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID)
        )
        args += [created_at, last_id]
        keyset = "AND (e.created_at, e.id) < ($2, $3)"
    args.append(size + 1)
    sql = (
        f"SELECT {EXPERIMENT_COLUMNS} FROM experiments e "
        "JOIN campaigns c ON c.id = e.campaign_id JOIN users u ON u.id = c.user_id "
        f"WHERE e.campaign_id = $1 AND e.deleted_at IS NULL AND {LIVE_CAMPAIGN} {keyset} "
        f"ORDER BY e.created_at DESC, e.id DESC LIMIT ${len(args)}"
    )
    async with connection() as conn:
        rows = await conn.fetch(sql, *args)
    page = keyset_page(
        rows, limit=size, list_name=list_name, key=lambda r: (r["created_at"], r["id"])
    )
    return Page(
        items=[ExperimentRecord.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )


_CONVERSION_COLUMNS = (
    "cv.id, cv.campaign_id, cv.source, cv.external_id, cv.value, cv.currency, "
    "cv.attributed_clip_id, cv.attributed_ad_id, cv.timestamp"
)


@validated(error=AdsValidationError)
async def conversion_list(
    *, campaign_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[ConversionRecord]:
    """Conversions attributed to a live campaign, latest first (timestamp, then id)."""
    size = page_size(limit)
    # The filters are part of the list: a cursor of another filter is refused.
    list_name = f"conversions:{campaign_id}"
    args: list[Any] = [campaign_id]
    keyset = ""
    if cursor is not None:
        timestamp, last_id = cursor_after(
            cursor, list_name=list_name, types=(datetime.datetime, uuid.UUID)
        )
        args += [timestamp, last_id]
        keyset = "AND (cv.timestamp, cv.id) < ($2, $3)"
    args.append(size + 1)
    sql = (
        f"SELECT {_CONVERSION_COLUMNS} FROM conversions cv "
        "JOIN campaigns c ON c.id = cv.campaign_id JOIN users u ON u.id = c.user_id "
        f"WHERE cv.campaign_id = $1 AND {LIVE_CAMPAIGN} {keyset} "
        f"ORDER BY cv.timestamp DESC, cv.id DESC LIMIT ${len(args)}"
    )
    async with connection() as conn:
        rows = await conn.fetch(sql, *args)
    page = keyset_page(
        rows, limit=size, list_name=list_name, key=lambda r: (r["timestamp"], r["id"])
    )
    return Page(
        items=[ConversionRecord.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )


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
    size = page_size(limit)
    # The filters are part of the list: a cursor of another filter is refused.
    list_name = f"performance_metrics:{asset_id}:{platform}:{date_from}:{date_to}"
    args: list[Any] = [asset_id, date_from, date_to]
    conditions = [
        "pm.asset_id = $1",
        "pm.date BETWEEN $2 AND $3",
        "a.deleted_at IS NULL",
        "u.deleted_at IS NULL",
    ]
    if platform is not None:
        args.append(platform.strip().lower())  # stored in lower case by the upsert
        conditions.append(f"pm.platform = ${len(args)}")
    if cursor is not None:
        day, last_id = cursor_after(cursor, list_name=list_name, types=(datetime.date, uuid.UUID))
        args += [day, last_id]
        conditions.append(f"(pm.date, pm.id) < (${len(args) - 1}, ${len(args)})")
    args.append(size + 1)
    columns = ", ".join(f"pm.{c.strip()}" for c in PERFORMANCE_METRIC_COLUMNS.split(","))
    sql = (
        f"SELECT {columns} FROM performance_metrics pm "
        "JOIN assets a ON a.id = pm.asset_id JOIN users u ON u.id = a.user_id "
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY pm.date DESC, pm.id DESC LIMIT ${len(args)}"
    )
    async with connection() as conn:
        rows = await conn.fetch(sql, *args)
    page = keyset_page(rows, limit=size, list_name=list_name, key=lambda r: (r["date"], r["id"]))
    return Page(
        items=[PerformanceMetricRecord.from_row(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


# One query, one GROUP BY. Revenue and conversions come from the campaign's conversions
# (value, counted on their UTC day); spend, impressions and clicks come from the daily
# performance_metrics of the campaign's assets: the live assets of the clips its
# conversions are attributed to (the schema's only link from a campaign to an asset).
# GROUPING SETS adds the total row (day NULL); the found column tells an unknown campaign
# from one without figures.
CAMPAIGN_ROLLUP_SQL = f"""
WITH camp AS (
    SELECT c.id FROM campaigns c JOIN users u ON u.id = c.user_id
    WHERE c.id = $1 AND {LIVE_CAMPAIGN}
),
linked_assets AS (
    SELECT DISTINCT cl.asset_id
    FROM conversions cv
    JOIN camp ON camp.id = cv.campaign_id
    JOIN clips cl ON cl.id = cv.attributed_clip_id
    JOIN assets a ON a.id = cl.asset_id AND a.deleted_at IS NULL
),
facts AS (
    SELECT (cv.timestamp AT TIME ZONE 'UTC')::date AS day, cv.value AS revenue,
           1 AS conversions, 0::numeric AS spend, 0::bigint AS impressions, 0::bigint AS clicks
    FROM conversions cv JOIN camp ON camp.id = cv.campaign_id
    WHERE cv.timestamp >= ($2::date)::timestamp AT TIME ZONE 'UTC'
      AND cv.timestamp < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
    UNION ALL
    SELECT pm.date, 0, 0, pm.spend, pm.impressions, pm.clicks
    FROM performance_metrics pm JOIN linked_assets la ON la.asset_id = pm.asset_id
    WHERE pm.date BETWEEN $2 AND $3
)
SELECT day,
       COALESCE(sum(spend), 0)::numeric(12, 2) AS spend,
       COALESCE(sum(revenue), 0)::numeric(12, 2) AS revenue,
       COALESCE(sum(impressions), 0)::bigint AS impressions,
       COALESCE(sum(clicks), 0)::bigint AS clicks,
       COALESCE(sum(conversions), 0)::bigint AS conversions,
       round(sum(revenue) / NULLIF(sum(spend), 0), 4) AS roas,
       round(sum(clicks)::numeric / NULLIF(sum(impressions), 0), 4) AS ctr,
       round(sum(spend) / NULLIF(sum(conversions), 0), 2) AS cpa,
       EXISTS (SELECT 1 FROM camp) AS found
FROM facts
GROUP BY GROUPING SETS ((day), ())
ORDER BY day NULLS LAST
"""


@validated(error=AdsValidationError)
async def campaign_rollup(
    *,
    campaign_id: uuid.UUID,
    date_from: datetime.date = datetime.date.min,
    date_to: datetime.date = datetime.date.max,
) -> CampaignRollup:
    """Spend, revenue, ROAS, CTR and CPA of a live campaign per day and in total.

    Days are UTC dates between ``date_from`` and ``date_to`` inclusive; days without any
    figure are left out. See ``CAMPAIGN_ROLLUP_SQL`` for where each figure comes from.
    """
    async with connection() as conn:
        rows = await conn.fetch(CAMPAIGN_ROLLUP_SQL, campaign_id, date_from, date_to)
    if not rows or not rows[-1]["found"]:
        raise CampaignNotFoundError(f"campaign {campaign_id} not found", field="campaign_id")
    *days, total = (RollupRow.from_row(row) for row in rows)
    return CampaignRollup(campaign_id=campaign_id, days=tuple(days), total=total)


# Every live campaign of a user in one statement: the same facts as CAMPAIGN_ROLLUP_SQL,
# keyed by campaign, with one GROUP BY (per campaign and day, and per campaign). The last
# branch of ``facts`` gives every campaign a total row even without figures; GROUPING(day)
# tells the total rows from the days. conversions_campaign_id_timestamp serves the date
# range per campaign in custom and generic plans alike.
CAMPAIGN_ROLLUPS_SQL = f"""
WITH camp AS (
    SELECT c.id FROM campaigns c JOIN users u ON u.id = c.user_id
    WHERE c.user_id = $1 AND {LIVE_CAMPAIGN}
),
linked_assets AS (
    SELECT DISTINCT cv.campaign_id, cl.asset_id
    FROM conversions cv
    JOIN camp ON camp.id = cv.campaign_id
    JOIN clips cl ON cl.id = cv.attributed_clip_id
    JOIN assets a ON a.id = cl.asset_id AND a.deleted_at IS NULL
),
facts AS (
    SELECT cv.campaign_id, (cv.timestamp AT TIME ZONE 'UTC')::date AS day,
           cv.value AS revenue, 1 AS conversions, 0::numeric AS spend,
           0::bigint AS impressions, 0::bigint AS clicks
    FROM conversions cv JOIN camp ON camp.id = cv.campaign_id
    WHERE cv.timestamp >= ($2::date)::timestamp AT TIME ZONE 'UTC'
      AND cv.timestamp < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
    UNION ALL
    SELECT la.campaign_id, pm.date, 0, 0, pm.spend, pm.impressions, pm.clicks
    FROM performance_metrics pm JOIN linked_assets la ON la.asset_id = pm.asset_id
    WHERE pm.date BETWEEN $2 AND $3
    UNION ALL
    SELECT camp.id, NULL, 0, 0, 0, 0, 0 FROM camp
)
SELECT campaign_id, day, GROUPING(day) = 1 AS is_total,
       COALESCE(sum(spend), 0)::numeric(12, 2) AS spend,
       COALESCE(sum(revenue), 0)::numeric(12, 2) AS revenue,
       COALESCE(sum(impressions), 0)::bigint AS impressions,
       COALESCE(sum(clicks), 0)::bigint AS clicks,
       COALESCE(sum(conversions), 0)::bigint AS conversions,
       round(sum(revenue) / NULLIF(sum(spend), 0), 4) AS roas,
       round(sum(clicks)::numeric / NULLIF(sum(impressions), 0), 4) AS ctr,
       round(sum(spend) / NULLIF(sum(conversions), 0), 2) AS cpa
FROM facts
GROUP BY GROUPING SETS ((campaign_id, day), (campaign_id))
ORDER BY campaign_id, day NULLS LAST
"""

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
    async with connection() as conn:
        rows = await conn.fetch(CAMPAIGN_ROLLUPS_SQL, user_id, since, until)
    rollups: list[CampaignRollup] = []
    days: list[RollupRow] = []
    for row in rows:
        if not row["is_total"]:
            if row["day"] is not None:
                days.append(RollupRow.from_row(row))
            continue
        rollups.append(
            CampaignRollup(
                campaign_id=row["campaign_id"], days=tuple(days), total=RollupRow.from_row(row)
            )
        )
        days = []
    return rollups


# Every conversion in (created_at, id) order, one keyset page per statement; the row
# comparison is an index condition on conversions_created_at_id (constant cost per page).
# Conversions outlive their campaign, so the stream has them all.
_CONVERSION_STREAM = (
    f"SELECT {_CONVERSION_COLUMNS}, cv.created_at FROM conversions cv "
    "WHERE (cv.created_at, cv.id) > ($1, $2) ORDER BY cv.created_at, cv.id LIMIT $3"
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
    while True:
        async with connection() as conn:
            rows = await conn.fetch(_CONVERSION_STREAM, *after, page)
        for row in rows:
            yield ConversionRecord.from_row(row)
        if len(rows) < page:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])
