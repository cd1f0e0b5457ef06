"""Ad campaigns, their A/B experiments, conversions, and daily performance metrics."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    Date,
    DoublePrecision,
    ForeignKey,
    LazyTableReference,
    Numeric,
    Text,
    Timestamptz,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.constraints import Check, Unique
from piccolo.table import Table

if TYPE_CHECKING:
    from apps.media.tables import Asset, Clip
    from apps.users.tables import User

from apps.core.schema import (
    created_at_column,
    deleted_at_column,
    id_column,
    one_of,
    updated_at_column,
)

MONEY = (10, 2)


class Objective(StrEnum):
    AWARENESS = "AWARENESS"
    TRAFFIC = "TRAFFIC"
    ENGAGEMENT = "ENGAGEMENT"
    LEADS = "LEADS"
    CONVERSIONS = "CONVERSIONS"
    SALES = "SALES"


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ARCHIVED = "ARCHIVED"


class ExperimentStatus(StrEnum):
    DRAFT = "DRAFT"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class ConversionSource(StrEnum):
    META = "META"
    GOOGLE = "GOOGLE"
    TIKTOK = "TIKTOK"
    MANUAL = "MANUAL"
    WEBHOOK = "WEBHOOK"


CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


class Campaign(Table, tablename="campaigns"):
    """An ad campaign on Meta or Google, with its budget and running totals.

    A composite index on (start_date, end_date) is added by a migration.
    """

    id = id_column()

    @classmethod
    def get_readable(cls) -> Readable:
        """How the admin names a campaign wherever one is referenced (lists, pickers)."""
        return Readable(template="%s", columns=[cls.name])

    user: ForeignKey[User] = ForeignKey(
        LazyTableReference(table_class_name="User", app_name="users"),
        on_delete=OnDelete.cascade,
        null=False,
        index=True,
        db_column_name="user_id",
    )
    name = Text(required=True, default=None)
    description = Text(null=True, default=None)
    objective = Text(default=Objective.CONVERSIONS, choices=Objective)
    budget = Numeric(digits=MONEY, required=True, default=None)
    daily_budget = Numeric(digits=MONEY, null=True, default=None)
    currency = Text(default="USD")
    status = Text(default=CampaignStatus.DRAFT, choices=CampaignStatus, index=True)
    meta_campaign_id = Text(null=True, default=None, unique=True)
    meta_ad_set_id = Text(null=True, default=None)
    meta_account_id = Text(null=True, default=None)
    target_audience = JSONB(default={})
    target_locations = JSONB(default=[])
    target_age_range = JSONB(default={})
    start_date = Timestamptz(null=True, default=None)
    end_date = Timestamptz(null=True, default=None)
    total_spend = Numeric(digits=MONEY)
    total_impressions = BigInt(default=0)
    total_clicks = BigInt(default=0)
    total_conversions = BigInt(default=0)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    objective_is_valid = one_of("objective", Objective)
    status_is_valid = one_of("status", CampaignStatus)
    currency_is_iso = Check(CURRENCY_CHECK)
    budget_not_negative = Check("budget >= 0")
    daily_budget_not_negative = Check("daily_budget >= 0")
    total_spend_not_negative = Check("total_spend >= 0")
    totals_not_negative = Check(
        "total_impressions >= 0 AND total_clicks >= 0 AND total_conversions >= 0"
    )
    dates_are_ordered = Check("end_date >= start_date")


class Experiment(Table, tablename="experiments"):
    """An A/B test of creative variants inside a campaign."""

    id = id_column()

    @classmethod
    def get_readable(cls) -> Readable:
        """How the admin names a experiment wherever one is referenced (lists, pickers)."""
        return Readable(template="%s", columns=[cls.name])

    campaign = ForeignKey(
        Campaign,
        on_delete=OnDelete.cascade,
        null=False,
        index=True,
        db_column_name="campaign_id",
    )
    name = Text(required=True, default=None)
    description = Text(null=True, default=None)
    variants = JSONB(default=[])
    status = Text(default=ExperimentStatus.DRAFT, choices=ExperimentStatus, index=True)
    winner_variant_id = Text(null=True, default=None)
    winner_selected_at = Timestamptz(null=True, default=None)
    metrics = JSONB(default={})
    confidence = DoublePrecision(null=True, default=None)
    start_date = Timestamptz(null=True, default=None)
    end_date = Timestamptz(null=True, default=None)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    status_is_valid = one_of("status", ExperimentStatus)
    confidence_in_unit_range = Check("confidence >= 0 AND confidence <= 1")
    dates_are_ordered = Check("end_date >= start_date")
    variants_is_array = Check("jsonb_typeof(variants) = 'array'")


class Conversion(Table, tablename="conversions"):
    """A conversion reported by an ad platform or a webhook; it outlives its campaign."""

    id = id_column()
    campaign = ForeignKey(
        Campaign,
        on_delete=OnDelete.set_null,
        null=True,
        index=True,
        db_column_name="campaign_id",
    )
    source = Text(default=ConversionSource.META, choices=ConversionSource)
    # Unique across partitions through conversion_external_ids (see ConversionExternalId).
    external_id = Text(null=True, default=None)
    value = Numeric(digits=MONEY, required=True, default=None)
    currency = Text(default="USD")
    attributed_clip: ForeignKey[Clip] = ForeignKey(
        LazyTableReference(table_class_name="Clip", app_name="media"),
        on_delete=OnDelete.set_null,
        null=True,
        index=True,
        db_column_name="attributed_clip_id",
    )
    attributed_ad_id = Text(null=True, default=None)
    timestamp = Timestamptz(default=TimestamptzNow(), index=True)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()

    source_is_valid = one_of("source", ConversionSource)
    currency_is_iso = Check(CURRENCY_CHECK)
    value_not_negative = Check("value >= 0")


class ConversionExternalId(Table, tablename="conversion_external_ids"):
    """Which conversion holds each external_id: the unique rule of conversions.external_id.

    conversions is partitioned by month of ``timestamp`` and a unique index on a partitioned
    table must contain the partition key, so this small table holds the rule; the ingestion
    claims ids in the same statement and a trigger on conversions covers every other write.
    """

    external_id = Text(primary_key=True)
    conversion_id = UUID(required=True)
    timestamp = Timestamptz(required=True)


class PerformanceMetric(Table, tablename="performance_metrics"):
    """One day's ad performance of an asset on one platform (upserted, never duplicated)."""

    id = id_column()
    asset: ForeignKey[Asset] = ForeignKey(
        LazyTableReference(table_class_name="Asset", app_name="media"),
        on_delete=OnDelete.cascade,
        null=False,
        index=True,
        db_column_name="asset_id",
    )
    platform = Text(default="meta", index=True)
    date = Date(required=True, default=None, index=True)
    impressions = BigInt(default=0)
    clicks = BigInt(default=0)
    conversions = BigInt(default=0)
    spend = Numeric(digits=MONEY)
    revenue = Numeric(digits=MONEY)
    roas = Numeric(digits=MONEY)
    ctr = Numeric(digits=(5, 4), null=True, default=None)
    raw_data = JSONB(null=True, default=None)
    created_at = created_at_column()
    updated_at = updated_at_column()

    one_row_per_day = Unique(["asset_id", "platform", "date"])
    counts_not_negative = Check("impressions >= 0 AND clicks >= 0 AND conversions >= 0")
    money_not_negative = Check("spend >= 0 AND revenue >= 0 AND roas >= 0")
    ctr_in_unit_range = Check("ctr >= 0 AND ctr <= 1")
