"""What the ads services and selectors return: typed rows and a few plain values.

Every row is an :class:`apps.core.records.Row`: asyncpg builds it in C while it decodes the
result, so a page of 50 rows costs no Python per row (the slotted dataclasses built by
``from_row`` cost more than the query on small pages; see bench/services_ads.py). JSON
columns are decoded on access. The values that are not rows (a variant inside the variants
column, a rollup holding its day rows, an ingestion's input and result) stay small dataclasses.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, overload

from apps.ads.tables import CampaignStatus, ConversionSource, ExperimentStatus, Objective
from apps.core.records import Column, EnumColumn, JsonColumn, Row


@dataclass(frozen=True, slots=True)
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


def variants_of(text: str) -> tuple[Variant, ...]:
    """The variants held in the JSON text of an experiment's ``variants`` column."""
    return tuple(Variant.from_json(value) for value in json.loads(text))


class JsonListColumn(Column[list[Any]]):
    """A JSONB column holding an array, decoded on each access."""

    __slots__ = ()

    @overload
    def __get__(self, instance: None, owner: type) -> JsonListColumn: ...

    @overload
    def __get__(self, instance: object, owner: type) -> list[Any]: ...

    def __get__(self, instance: object, owner: type) -> JsonListColumn | list[Any]:
        if instance is None:
            return self
        value: list[Any] = json.loads(instance[self.name])  # type: ignore[index]
        return value


class VariantsColumn(Column[tuple[Variant, ...]]):
    """The ``variants`` JSONB column as :class:`Variant` values, decoded on each access."""

    __slots__ = ()

    @overload
    def __get__(self, instance: None, owner: type) -> VariantsColumn: ...

    @overload
    def __get__(self, instance: object, owner: type) -> tuple[Variant, ...]: ...

    def __get__(self, instance: object, owner: type) -> VariantsColumn | tuple[Variant, ...]:
        if instance is None:
            return self
        return variants_of(instance[self.name])  # type: ignore[index]


class _CampaignListed(Row):
    """The columns a campaign listing shows (shared by the full record)."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    user_id = Column[uuid.UUID]()
    name = Column[str]()
    objective = EnumColumn(Objective)
    status = EnumColumn(CampaignStatus)
    budget = Column[Decimal]()
    currency = Column[str]()
    start_date = Column[datetime.datetime | None]()
    end_date = Column[datetime.datetime | None]()
    total_spend = Column[Decimal]()
    total_impressions = Column[int]()
    total_clicks = Column[int]()
    total_conversions = Column[int]()
    created_at = Column[datetime.datetime]()


class CampaignSummary(_CampaignListed):
    """The columns a campaign listing shows."""

    __slots__ = ()


class CampaignRecord(_CampaignListed):
    """A campaign with all its columns but ``deleted_at``."""

    __slots__ = ()

    description = Column[str | None]()
    daily_budget = Column[Decimal | None]()
    meta_campaign_id = Column[str | None]()
    meta_ad_set_id = Column[str | None]()
    meta_account_id = Column[str | None]()
    target_audience = JsonColumn()
    target_locations = JsonListColumn()
    target_age_range = JsonColumn()
    metadata = JsonColumn()
    updated_at = Column[datetime.datetime]()


class CampaignTotals(Row):
    """A campaign's running totals."""

    __slots__ = ()

    campaign_id = Column[uuid.UUID]()
    total_spend = Column[Decimal]()
    total_impressions = Column[int]()
    total_clicks = Column[int]()
    total_conversions = Column[int]()


class ExperimentRecord(Row):
    """An experiment with its variants."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    campaign_id = Column[uuid.UUID]()
    name = Column[str]()
    description = Column[str | None]()
    status = EnumColumn(ExperimentStatus)
    variants = VariantsColumn()
    winner_variant_id = Column[str | None]()
    winner_selected_at = Column[datetime.datetime | None]()
    metrics = JsonColumn()
    confidence = Column[float | None]()
    start_date = Column[datetime.datetime | None]()
    end_date = Column[datetime.datetime | None]()
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()


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


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What a batch ingestion did."""

    received: int
    inserted: int
    duplicates: int
    new_external_ids: tuple[str, ...]


class ConversionRecord(Row):
    """A stored conversion."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    campaign_id = Column[uuid.UUID | None]()
    source = EnumColumn(ConversionSource)
    external_id = Column[str | None]()
    value = Column[Decimal]()
    currency = Column[str]()
    attributed_clip_id = Column[uuid.UUID | None]()
    attributed_ad_id = Column[str | None]()
    timestamp = Column[datetime.datetime]()


class PerformanceMetricRecord(Row):
    """One day's figures of an asset on one platform."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    asset_id = Column[uuid.UUID]()
    platform = Column[str]()
    date = Column[datetime.date]()
    impressions = Column[int]()
    clicks = Column[int]()
    conversions = Column[int]()
    spend = Column[Decimal]()
    revenue = Column[Decimal]()
    roas = Column[Decimal]()
    ctr = Column[Decimal | None]()


class RollupRow(Row):
    """A campaign's figures for one day (``day`` is None on the total row).

    ``roas`` = revenue / spend (4 places), ``ctr`` = clicks / impressions (4 places),
    ``cpa`` = spend / conversions (2 places); each is None when its divisor is zero.
    """

    __slots__ = ()

    day = Column[datetime.date | None]()
    spend = Column[Decimal]()
    revenue = Column[Decimal]()
    impressions = Column[int]()
    clicks = Column[int]()
    conversions = Column[int]()
    roas = Column[Decimal | None]()
    ctr = Column[Decimal | None]()
    cpa = Column[Decimal | None]()


@dataclass(frozen=True, slots=True)
class CampaignRollup:
    """A campaign's figures per day (oldest first) and over the whole period."""

    campaign_id: uuid.UUID
    days: tuple[RollupRow, ...]
    total: RollupRow
