"""Daily performance metrics of an asset per platform, upserted."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import asyncpg

from apps.ads.errors import AdsValidationError
from apps.ads.records import PerformanceMetricRecord
from apps.ads.selectors import PERFORMANCE_METRIC_COLUMNS
from apps.ads.tables import PerformanceMetric
from apps.core import rawsql
from apps.core.errors import NotFoundError, ValidationError
from apps.core.validation import count, json_object, money, not_blank, validated
from apps.media.selectors import asset_is_live

# roas = revenue / spend rounded to 2 places (0 when spend is 0: the column is NOT NULL);
# ctr = clicks / impressions rounded to 4 places (NULL when there were no impressions).
_METRIC_UPSERT = rawsql.statement(
    f"""
INSERT INTO performance_metrics AS pm (
    asset_id, platform, date, impressions, clicks, conversions, spend, revenue, roas, ctr,
    raw_data)
SELECT $1::uuid, $2::text, $3::date, $4::bigint, $5::bigint, $6::bigint, $7::numeric, $8::numeric,
       COALESCE(round($8::numeric / NULLIF($7::numeric, 0), 2), 0),
       round($5::bigint::numeric / NULLIF($4::bigint, 0), 4),
       $9::jsonb
WHERE {asset_is_live("$1::uuid")}
ON CONFLICT (asset_id, platform, date) DO UPDATE SET
    impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions, spend = EXCLUDED.spend, revenue = EXCLUDED.revenue,
    roas = EXCLUDED.roas, ctr = EXCLUDED.ctr, raw_data = EXCLUDED.raw_data
RETURNING {PERFORMANCE_METRIC_COLUMNS}
""",
    owner=__name__,
)


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
        raise AdsValidationError("date must be a datetime.date", field="date", rule="type")
    impressions = count(impressions, field="impressions")
    clicks = count(clicks, field="clicks")
    if clicks > impressions:
        raise AdsValidationError(
            f"clicks ({clicks}) cannot exceed impressions ({impressions})",
            field="clicks",
            rule="max",
        )
    args = (
        asset_id,
        not_blank(platform, field="platform").lower(),
        date,
        impressions,
        clicks,
        count(conversions, field="conversions"),
        money(spend, field="spend"),
        money(revenue, field="revenue"),
        None if raw_data is None else json_object(raw_data, field="raw_data"),
    )
    try:
        row = await rawsql.fetchrow(
            rawsql.engine_of(PerformanceMetric),
            _METRIC_UPSERT,
            *args,
            record_class=PerformanceMetricRecord,
        )
    except ValidationError as error:
        if not isinstance(error.__cause__, asyncpg.NumericValueOutOfRangeError):
            raise
        raise AdsValidationError(
            "revenue / spend does not fit roas NUMERIC(10,2)", field="roas", rule="max"
        ) from None
    if row is None:
        raise NotFoundError(f"asset {asset_id} not found", field="asset_id", rule="exists")
    return row
