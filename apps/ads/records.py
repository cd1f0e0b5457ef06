"""What the ads services and selectors return: plain typed values.

The row classes are slotted dataclasses, not frozen ones: a frozen dataclass's ``__init__``
costs about six times as much, which shows on a page of 50 rows (see bench/services_ads.py).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from apps.ads.tables import CampaignStatus, ConversionSource, ExperimentStatus, Objective

_OBJECTIVES: dict[str, Objective] = {member.value: member for member in Objective}
_CAMPAIGN_STATUSES: dict[str, CampaignStatus] = {member.value: member for member in CampaignStatus}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(slots=True)
class CampaignRecord:
    """A campaign with all its columns."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    description: str | None
    objective: Objective
    budget: Decimal
    daily_budget: Decimal | None
    currency: str
    status: CampaignStatus
    meta_campaign_id: str | None
    meta_ad_set_id: str | None
    meta_account_id: str | None
    target_audience: dict[str, Any]
    target_locations: list[Any]
    target_age_range: dict[str, Any]
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None
    total_spend: Decimal
    total_impressions: int
    total_clicks: int
    total_conversions: int
    metadata: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CampaignRecord:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            name=row["name"],
            description=row["description"],
            objective=_OBJECTIVES[row["objective"]],
            budget=row["budget"],
            daily_budget=row["daily_budget"],
            currency=row["currency"],
            status=_CAMPAIGN_STATUSES[row["status"]],
            meta_campaign_id=row["meta_campaign_id"],
            meta_ad_set_id=row["meta_ad_set_id"],
            meta_account_id=row["meta_account_id"],
            target_audience=_json(row["target_audience"]),
            target_locations=_json(row["target_locations"]),
            target_age_range=_json(row["target_age_range"]),
            start_date=row["start_date"],
            end_date=row["end_date"],
            total_spend=row["total_spend"],
            total_impressions=row["total_impressions"],
            total_clicks=row["total_clicks"],
            total_conversions=row["total_conversions"],
            metadata=_json(row["metadata"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


CAMPAIGN_COLUMNS = (
    "c.id, c.user_id, c.name, c.description, c.objective, c.budget, c.daily_budget, "
    "c.currency, c.status, c.meta_campaign_id, c.meta_ad_set_id, c.meta_account_id, "
    "c.target_audience, c.target_locations, c.target_age_range, c.start_date, c.end_date, "
    "c.total_spend, c.total_impressions, c.total_clicks, c.total_conversions, c.metadata, "
    "c.created_at, c.updated_at"
)


@dataclass(slots=True)
class CampaignSummary:
    """The columns a campaign listing shows."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    objective: Objective
    status: CampaignStatus
    budget: Decimal
    currency: str
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None
    total_spend: Decimal
    total_impressions: int
    total_clicks: int
    total_conversions: int
    created_at: datetime.datetime

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CampaignSummary:
        """From a row of ``CAMPAIGN_SUMMARY_COLUMNS``, by position (the list's hot path)."""
        return cls(
            row[0],
            row[1],
            row[2],
            _OBJECTIVES[row[3]],
            _CAMPAIGN_STATUSES[row[4]],
            *row[5:14],
        )


CAMPAIGN_SUMMARY_COLUMNS = (
    "c.id, c.user_id, c.name, c.objective, c.status, c.budget, c.currency, c.start_date, "
    "c.end_date, c.total_spend, c.total_impressions, c.total_clicks, c.total_conversions, "
    "c.created_at"
)
# CampaignSummary.from_row reads by position: the columns must follow the fields' order.
assert [column.strip()[2:] for column in CAMPAIGN_SUMMARY_COLUMNS.split(",")] == [
    f.name for f in fields(CampaignSummary)
]


@dataclass(slots=True)
class CampaignTotals:
    """A campaign's running totals."""

    campaign_id: uuid.UUID
    total_spend: Decimal
    total_impressions: int
    total_clicks: int
    total_conversions: int


@dataclass(slots=True)
class Variant:
    """One variant of an A/B experiment and its counters."""

    id: str
    name: str
    settings: dict[str, Any]
    impressions: int
    clicks: int
    conversions: int

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Variant:
        return cls(
            id=str(value["id"]),
            name=str(value.get("name", "")),
            settings=dict(value.get("settings") or {}),
            impressions=int(value.get("impressions", 0)),
            clicks=int(value.get("clicks", 0)),
            conversions=int(value.get("conversions", 0)),
        )


@dataclass(slots=True)
class ExperimentRecord:
    """An experiment with its variants."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    name: str
    description: str | None
    status: ExperimentStatus
    variants: tuple[Variant, ...]
    winner_variant_id: str | None
    winner_selected_at: datetime.datetime | None
    metrics: dict[str, Any]
    confidence: float | None
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None
    metadata: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ExperimentRecord:
        return cls(
            id=row["id"],
            campaign_id=row["campaign_id"],
            name=row["name"],
            description=row["description"],
            status=ExperimentStatus(row["status"]),
            variants=tuple(Variant.from_json(v) for v in _json(row["variants"])),
            winner_variant_id=row["winner_variant_id"],
            winner_selected_at=row["winner_selected_at"],
            metrics=_json(row["metrics"]),
            confidence=row["confidence"],
            start_date=row["start_date"],
            end_date=row["end_date"],
            metadata=_json(row["metadata"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


EXPERIMENT_COLUMNS = (
    "e.id, e.campaign_id, e.name, e.description, e.status, e.variants, e.winner_variant_id, "
    "e.winner_selected_at, e.metrics, e.confidence, e.start_date, e.end_date, e.metadata, "
    "e.created_at, e.updated_at"
)


@dataclass(frozen=True, slots=True)
class ConversionInput:
    """One conversion as a platform or webhook reports it.

    ``external_id`` is the platform's id and the idempotency key: a conversion delivered
    again with the same ``external_id`` changes nothing.
    """

    external_id: str
    value: Decimal
    currency: str = "USD"
    campaign_id: uuid.UUID | None = None
    attributed_clip_id: uuid.UUID | None = None
    attributed_ad_id: str | None = None
    timestamp: datetime.datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class IngestResult:
    """What a batch ingestion did."""

    received: int
    inserted: int
    duplicates: int
    new_external_ids: tuple[str, ...]


@dataclass(slots=True)
class ConversionRecord:
    """A stored conversion."""

    id: uuid.UUID
    campaign_id: uuid.UUID | None
    source: ConversionSource
    external_id: str | None
    value: Decimal
    currency: str
    attributed_clip_id: uuid.UUID | None
    attributed_ad_id: str | None
    timestamp: datetime.datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ConversionRecord:
        return cls(
            id=row["id"],
            campaign_id=row["campaign_id"],
            source=ConversionSource(row["source"]),
            external_id=row["external_id"],
            value=row["value"],
            currency=row["currency"],
            attributed_clip_id=row["attributed_clip_id"],
            attributed_ad_id=row["attributed_ad_id"],
            timestamp=row["timestamp"],
        )


@dataclass(slots=True)
class PerformanceMetricRecord:
    """One day's figures of an asset on one platform."""

    id: uuid.UUID
    asset_id: uuid.UUID
    platform: str
    date: datetime.date
    impressions: int
    clicks: int
    conversions: int
    spend: Decimal
    revenue: Decimal
    roas: Decimal
    ctr: Decimal | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PerformanceMetricRecord:
        return cls(
            id=row["id"],
            asset_id=row["asset_id"],
            platform=row["platform"],
            date=row["date"],
            impressions=row["impressions"],
            clicks=row["clicks"],
            conversions=row["conversions"],
            spend=row["spend"],
            revenue=row["revenue"],
            roas=row["roas"],
            ctr=row["ctr"],
        )


PERFORMANCE_METRIC_COLUMNS = (
    "id, asset_id, platform, date, impressions, clicks, conversions, spend, revenue, roas, ctr"
)


@dataclass(slots=True)
class RollupRow:
    """A campaign's figures for one day (``day`` is None on the total row).

    ``roas`` = revenue / spend (4 places), ``ctr`` = clicks / impressions (4 places),
    ``cpa`` = spend / conversions (2 places); each is None when its divisor is zero.
    """

    day: datetime.date | None
    spend: Decimal
    revenue: Decimal
    impressions: int
    clicks: int
    conversions: int
    roas: Decimal | None
    ctr: Decimal | None
    cpa: Decimal | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RollupRow:
        return cls(
            day=row["day"],
            spend=row["spend"],
            revenue=row["revenue"],
            impressions=row["impressions"],
            clicks=row["clicks"],
            conversions=row["conversions"],
            roas=row["roas"],
            ctr=row["ctr"],
            cpa=row["cpa"],
        )


@dataclass(slots=True)
class CampaignRollup:
    """A campaign's figures per day (oldest first) and over the whole period."""

    campaign_id: uuid.UUID
    days: tuple[RollupRow, ...]
    total: RollupRow
