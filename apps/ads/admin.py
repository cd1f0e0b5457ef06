"""Campaigns, experiments, conversions (a big table) and daily metrics in the admin.

The forms go through the ads services, so a status change follows the state machine and
a winner is picked by the same statistics the API uses.
"""

from __future__ import annotations

import uuid
from typing import Literal

from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.endpoints import OrderBy
from pydantic import BaseModel, Field
from starlette.requests import Request

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import atomic, request_actor
from apps.adminsite.selectors import row_snapshot
from apps.ads import services
from apps.ads.tables import (
    Campaign,
    CampaignStatus,
    Conversion,
    Experiment,
    PerformanceMetric,
)
from apps.audit.services import audit_entry_record
from apps.audit.tables import AuditAction
from apps.core.errors import GatewayError


class ChangeCampaignStatus(BaseModel):
    campaign_id: uuid.UUID = Field(description="The campaign's id.")
    status: CampaignStatus


class PickExperimentWinner(BaseModel):
    experiment_id: uuid.UUID = Field(description="A RUNNING or PAUSED experiment's id.")
    metric: Literal["ctr", "cvr"] = "ctr"
    threshold: float = Field(default=0.95, gt=0, lt=1, description="Confidence needed.")


async def change_campaign_status_endpoint(request: Request, data: ChangeCampaignStatus) -> str:
    """Move a campaign along its state machine (DRAFT -> SCHEDULED -> ACTIVE ...)."""
    try:
        async with atomic(Campaign):
            before = await row_snapshot(
                table=Campaign, row_id=data.campaign_id, columns=[Campaign.status]
            )
            record = await services.campaign_transition(
                campaign_id=data.campaign_id, status=data.status
            )
            await audit_entry_record(
                actor=request_actor(request),
                action=AuditAction.FORM,
                table_name=Campaign._meta.tablename,
                row_id=data.campaign_id,
                changes={"status": {"old": (before or {}).get("status"), "new": record.status}},
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Campaign '{record.name}' is now {record.status}."


async def pick_experiment_winner_endpoint(request: Request, data: PickExperimentWinner) -> str:
    """Complete an experiment with its leading variant, if the confidence is high enough."""
    try:
        async with atomic(Experiment):
            before = await row_snapshot(
                table=Experiment, row_id=data.experiment_id, columns=[Experiment.status]
            )
            record = await services.experiment_select_winner(
                experiment_id=data.experiment_id, threshold=data.threshold, metric=data.metric
            )
            await audit_entry_record(
                actor=request_actor(request),
                action=AuditAction.FORM,
                table_name=Experiment._meta.tablename,
                row_id=data.experiment_id,
                changes={
                    "status": {"old": (before or {}).get("status"), "new": record.status},
                    "winner_variant_id": {"old": None, "new": record.winner_variant_id},
                },
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"Experiment '{record.name}': variant {record.winner_variant_id} wins."


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
FORMS = [
    FormConfig(
        name="Change a campaign's status",
        pydantic_model=ChangeCampaignStatus,
        endpoint=change_campaign_status_endpoint,
        description="Follows the campaign state machine; a move it does not allow is refused.",
        form_group="Ads",
    ),
    FormConfig(
        name="Pick an experiment's winner",
        pydantic_model=PickExperimentWinner,
        endpoint=pick_experiment_winner_endpoint,
        description="Completes the experiment with its leader when the confidence is enough.",
        form_group="Ads",
    ),
]
