"""Daily performance metrics of an asset per platform, upserted."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import asyncpg

from apps.ads import validation as check
from apps.ads._db import connection
from apps.ads.errors import AdsValidationError
from apps.ads.records import PERFORMANCE_METRIC_COLUMNS, PerformanceMetricRecord
from apps.ads.services._common import dumps, json_object
from apps.core.errors import NotFoundError
from apps.core.validation import validated

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


@validated(error=AdsValidationError)
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
        None if raw_data is None else dumps(json_object(raw_data, field="raw_data")),
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
