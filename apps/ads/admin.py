"""Campaigns, experiments, conversions (a big table) and daily metrics in the admin.

The forms go through the ads services, so a status change follows the state machine and
a winner is picked by the same statistics the API uses.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.endpoints import OrderBy
from pydantic import BaseModel, Field
from starlette.requests import Request

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import request_actor
from apps.adminsite.pickers import row_picker
from apps.adminsite.selectors import row_snapshot
from apps.adminsite.services import admin_columns_update, admin_form_record, atomic
from apps.ads import services
from apps.ads.selectors import campaign_choices, campaign_is_live, experiment_choices
from apps.ads.tables import (
    Campaign,
    CampaignStatus,
    Conversion,
    Experiment,
    ExperimentStatus,
    PerformanceMetric,
)
from apps.core.errors import GatewayError, NotFoundError
from apps.core.validation import json_object, not_blank
from apps.media.admin import LIVE_ASSET
from apps.users.admin import LIVE_USER

LIVE_CAMPAIGN = ("campaign_id", campaign_is_live)
# What an operator may set on a campaign (its owner too, when creating one); the status and
# the running totals change only through their services.
CAMPAIGN_EDITABLE = [
    Campaign.name,
    Campaign.description,
    Campaign.objective,
    Campaign.budget,
    Campaign.daily_budget,
    Campaign.currency,
    Campaign.meta_campaign_id,
    Campaign.meta_ad_set_id,
    Campaign.meta_account_id,
    Campaign.target_audience,
    Campaign.target_locations,
    Campaign.target_age_range,
    Campaign.start_date,
    Campaign.end_date,
    Campaign.metadata,
]


async def update_campaign(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """A generic edit of a campaign: ``campaign_update`` (money, currency, JSON shapes)."""
    await services.campaign_update(campaign_id=row_id, **changes)


async def create_campaign(values: dict[str, Any]) -> uuid.UUID:
    """The "add row" form: ``campaign_create`` (a DRAFT campaign for a live user)."""
    if "user" in values:
        values["user_id"] = values.pop("user")
    try:
        record = await services.campaign_create(**values)
    except GatewayError as error:
        if error.field == "user_id":  # the form's field is "user"
            error.field = "user"
        raise
    return record.id


async def update_experiment(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """An experiment's name, description and metadata, checked as the ads services do."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("name", "description"):
            values[name] = None if value is None else not_blank(value, field=name)
        else:
            values[name] = json_object(value, field=name)
    await admin_columns_update(table=Experiment, row_id=row_id, values=values)


async def update_metric(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """A day's figures go back through ``performance_metric_upsert``: roas and ctr follow."""
    columns = list(PerformanceMetric._meta.columns)
    row = await row_snapshot(table=PerformanceMetric, row_id=row_id, columns=columns)
    if row is None:
        raise NotFoundError(f"performance metric {row_id} not found", field="id", rule="exists")
    figures = ("impressions", "clicks", "conversions", "spend", "revenue", "raw_data")
    merged = {name: changes.get(name, row[name]) for name in figures}
    await services.performance_metric_upsert(
        asset_id=row["asset_id"], date=row["date"], platform=row["platform"], **merged
    )


class ChangeCampaignStatus(BaseModel):
    campaign_id: uuid.UUID = row_picker("campaigns", campaign_choices, "The campaign.")
    status: CampaignStatus


class ChangeExperimentStatus(BaseModel):
    experiment_id: uuid.UUID = row_picker("experiments", experiment_choices, "The experiment.")
    # COMPLETED is refused by the service (it needs a winner: the 'Pick an experiment's
    # winner' form); offered anyway so the operator reads why.
    status: ExperimentStatus


class PickExperimentWinner(BaseModel):
    experiment_id: uuid.UUID = row_picker(
        "experiments", experiment_choices, "A RUNNING or PAUSED experiment."
    )
    metric: Literal["ctr", "cvr"] = "ctr"
    threshold: float = Field(default=0.95, gt=0, lt=1, description="Confidence needed.")


async def _change_status(
    request: Request,
    *,
    table: type[Campaign] | type[Experiment],
    row_id: uuid.UUID,
    transition: Any,
    entity: str,
) -> str:
    """Run ``transition()`` (a service call returning the record) and record the form."""
    try:
        async with atomic(table):
            before = await row_snapshot(table=table, row_id=row_id, columns=[table.status])
            record = await transition()
            await admin_form_record(
                actor=request_actor(request),
                table=table,
                row_id=row_id,
                form=f"change {'a' if entity == 'campaign' else 'an'} {entity}'s status",
                changes={"status": {"old": (before or {}).get("status"), "new": record.status}},
            )
    except GatewayError as error:
        raise ValueError(error.message) from None
    return f"{entity.capitalize()} '{record.name}' is now {record.status}."


async def change_campaign_status_endpoint(request: Request, data: ChangeCampaignStatus) -> str:
    """Move a campaign along its state machine (DRAFT -> SCHEDULED -> ACTIVE ...)."""
    return await _change_status(
        request,
        table=Campaign,
        row_id=data.campaign_id,
        transition=lambda: services.campaign_transition(
            campaign_id=data.campaign_id, status=data.status
        ),
        entity="campaign",
    )


async def change_experiment_status_endpoint(request: Request, data: ChangeExperimentStatus) -> str:
    """Move an experiment along its state machine; completing one needs a winner (the
    'Pick an experiment's winner' form)."""
    return await _change_status(
        request,
        table=Experiment,
        row_id=data.experiment_id,
        transition=lambda: services.experiment_transition(
            experiment_id=data.experiment_id, status=data.status
        ),
        entity="experiment",
    )


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
            await admin_form_record(
                actor=request_actor(request),
                table=Experiment,
                row_id=data.experiment_id,
                form="pick an experiment's winner",
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
            Campaign.id,
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
        editable_columns=CAMPAIGN_EDITABLE,
        read_only_hints={
            "status": "use the form 'Change a campaign's status'",
            **{
                name: "the running totals follow the conversions and metrics"
                for name in (
                    "total_spend",
                    "total_impressions",
                    "total_clicks",
                    "total_conversions",
                )
            },
        },
        update=update_campaign,
        create=create_campaign,
        creatable_columns=[Campaign.user, *CAMPAIGN_EDITABLE],
        live_parents=LIVE_USER,
    ),
    GatewayTableConfig(
        Experiment,
        menu_group="Ads",
        visible_columns=[
            Experiment.id,
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
        editable_columns=[Experiment.name, Experiment.description, Experiment.metadata],
        read_only_hints={
            "status": "use the forms 'Change an experiment's status' and 'Pick an "
            "experiment's winner'",
            "winner_variant_id": "use the form 'Pick an experiment's winner'",
            "winner_selected_at": "use the form 'Pick an experiment's winner'",
        },
        update=update_experiment,
        live_parents=LIVE_CAMPAIGN,
    ),
    GatewayTableConfig(
        Conversion,
        menu_group="Ads",
        big_table=True,
        # Conversions are ingested facts behind the campaign totals: read only here.
        read_only=True,
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
        editable_columns=[
            PerformanceMetric.impressions,
            PerformanceMetric.clicks,
            PerformanceMetric.conversions,
            PerformanceMetric.spend,
            PerformanceMetric.revenue,
            PerformanceMetric.raw_data,
        ],
        read_only_hints={
            "roas": "computed from spend and revenue",
            "ctr": "computed from clicks and impressions",
        },
        update=update_metric,
        live_parents=LIVE_ASSET,
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
        name="Change an experiment's status",
        pydantic_model=ChangeExperimentStatus,
        endpoint=change_experiment_status_endpoint,
        description="Follows the experiment state machine (COMPLETED needs a winner).",
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
