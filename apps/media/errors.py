"""Errors of the media app; each subclasses an error of :mod:`apps.core.errors`."""

from __future__ import annotations

import uuid
from typing import TypeVar

from apps.core.errors import ConflictError, InvalidStateTransitionError, NotFoundError

E = TypeVar("E", bound=NotFoundError)


class AssetNotFoundError(NotFoundError):
    """No live asset of a live user has this id."""

    code = "asset_not_found"


class ClipNotFoundError(NotFoundError):
    """No live clip of a live asset has this id."""

    code = "clip_not_found"


class PredictionNotFoundError(NotFoundError):
    """No prediction of a live clip has this id."""

    code = "prediction_not_found"


class GcsUrlTakenError(ConflictError):
    """Another asset is already registered for this gcs_url."""

    code = "gcs_url_taken"


class InvalidAssetTransitionError(InvalidStateTransitionError):
    """The asset's status cannot move from its current value to the one asked for."""

    code = "invalid_asset_transition"


def not_found(error: type[E], entity: str, row_id: uuid.UUID) -> E:
    """``error`` for the ``entity`` (asset, clip, prediction) ``row_id``: field ``<entity>_id``,
    rule ``exists``."""
    return error(f"{entity} {row_id} not found", field=f"{entity}_id", rule="exists")
