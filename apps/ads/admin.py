"""Campaigns, experiments, conversions (a big table) and daily metrics in the admin."""

from __future__ import annotations

from piccolo_api.crud.endpoints import OrderBy

from apps.adminsite.config import GatewayTableConfig
from apps.ads.tables import Campaign, Conversion, Experiment, PerformanceMetric

TABLE_CONFIGS = [
    GatewayTableConfig(
        Campaign,
        menu_group="Ads",
        visible_columns=[
            Campaign.name,
            Campaign.user,
            Campaign.status,
            Campaign.objective,
            Campaign.budget,
            Campaign.total_spend,
            Campaign.currency,
            Campaign.total_conversions,
            Campaign.start_date,
            Campaign.end_date,
        ],
        visible_filters=[
            Campaign.user,
            Campaign.name,
            Campaign.status,
            Campaign.objective,
            Campaign.start_date,
            Campaign.end_date,
            Campaign.created_at,
            Campaign.deleted_at,
        ],
        order_by=[OrderBy(Campaign.created_at, ascending=False)],
        link_column=Campaign.name,
    ),
    GatewayTableConfig(
        Experiment,
        menu_group="Ads",
        visible_columns=[
            Experiment.name,
            Experiment.campaign,
            Experiment.status,
            Experiment.winner_variant_id,
            Experiment.confidence,
            Experiment.start_date,
            Experiment.end_date,
        ],
        visible_filters=[
            Experiment.campaign,
            Experiment.name,
            Experiment.status,
            Experiment.start_date,
            Experiment.created_at,
            Experiment.deleted_at,
        ],
        order_by=[OrderBy(Experiment.created_at, ascending=False)],
        link_column=Experiment.name,
    ),
    GatewayTableConfig(
        Conversion,
        menu_group="Ads",
        big_table=True,
        visible_columns=[
            Conversion.id,
            Conversion.timestamp,
            Conversion.source,
            Conversion.value,
            Conversion.currency,
            Conversion.campaign,
            Conversion.attributed_clip,
            Conversion.external_id,
        ],
        visible_filters=[
            Conversion.campaign,
            Conversion.source,
            Conversion.attributed_clip,
            Conversion.external_id,
            Conversion.timestamp,
        ],
        order_by=[OrderBy(Conversion.timestamp, ascending=False)],
    ),
    GatewayTableConfig(
        PerformanceMetric,
        menu_group="Ads",
        visible_columns=[
            PerformanceMetric.date,
            PerformanceMetric.asset,
            PerformanceMetric.platform,
            PerformanceMetric.impressions,
            PerformanceMetric.clicks,
            PerformanceMetric.conversions,
            PerformanceMetric.spend,
            PerformanceMetric.revenue,
            PerformanceMetric.roas,
            PerformanceMetric.ctr,
        ],
        visible_filters=[
            PerformanceMetric.asset,
            PerformanceMetric.platform,
            PerformanceMetric.date,
        ],
        order_by=[OrderBy(PerformanceMetric.date, ascending=False)],
        link_column=PerformanceMetric.date,
    ),
]
FORMS: list[object] = []
