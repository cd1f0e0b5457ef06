"""Writes of the ads app: campaigns, experiments, conversions and performance metrics.

Every function is keyword-only and raises only the project's typed errors. A write that
touches several rows runs in one transaction (joining the caller's when there is one).
Counters are changed by atomic increments in a single UPDATE, never read-modify-write, so
concurrent updates are never lost.
"""

from apps.ads.services.campaigns import (
    CAMPAIGN_TRANSITIONS,
    campaign_add_totals,
    campaign_create,
    campaign_purge,
    campaign_restore,
    campaign_soft_delete,
    campaign_transition,
    campaign_update,
)
from apps.ads.services.conversions import COPY_THRESHOLD, conversion_ingest_batch
from apps.ads.services.experiments import (
    EXPERIMENT_RECORDING,
    EXPERIMENT_TRANSITIONS,
    experiment_create,
    experiment_purge,
    experiment_record,
    experiment_restore,
    experiment_select_winner,
    experiment_soft_delete,
    experiment_transition,
)
from apps.ads.services.metrics import performance_metric_upsert
from apps.core.unset import UNSET

__all__ = [
    "CAMPAIGN_TRANSITIONS",
    "COPY_THRESHOLD",
    "EXPERIMENT_RECORDING",
    "EXPERIMENT_TRANSITIONS",
    "UNSET",
    "campaign_add_totals",
    "campaign_create",
    "campaign_purge",
    "campaign_restore",
    "campaign_soft_delete",
    "campaign_transition",
    "campaign_update",
    "conversion_ingest_batch",
    "experiment_create",
    "experiment_purge",
    "experiment_record",
    "experiment_restore",
    "experiment_select_winner",
    "experiment_soft_delete",
    "experiment_transition",
    "performance_metric_upsert",
]
