"""The ads app's errors; each subclasses the project's error base in ``apps.core.errors``."""

from __future__ import annotations

from apps.core.errors import (
    InvalidStateTransitionError,
    NotFoundError,
    ValidationError,
)


class CampaignNotFoundError(NotFoundError):
    """No live campaign has this id (absent, soft-deleted, or its owner is soft-deleted)."""

    code = "campaign_not_found"


class ExperimentNotFoundError(NotFoundError):
    """No live experiment has this id (absent, soft-deleted, or its campaign is)."""

    code = "experiment_not_found"


class VariantNotFoundError(NotFoundError):
    """The experiment has no variant with this id."""

    code = "variant_not_found"


class AdsValidationError(ValidationError):
    """An argument breaks a rule of the ads data model; names the field and the rule."""

    code = "ads_invalid"


class InvalidCampaignTransitionError(InvalidStateTransitionError):
    """The campaign's status cannot move to the requested status from where it is."""

    code = "invalid_campaign_transition"


class InvalidExperimentTransitionError(InvalidStateTransitionError):
    """The experiment's status does not allow this change or this operation."""

    code = "invalid_experiment_transition"


class InsufficientConfidenceError(ValidationError):
    """The leading variant does not beat the others with the required confidence yet."""

    code = "insufficient_confidence"

    def __init__(self, message: str, *, confidence: float, threshold: float) -> None:
        # The threshold is in the message and in ``threshold``; the rule is its name.
        super().__init__(message, field="confidence", rule="min")
        self.confidence = confidence
        self.threshold = threshold
