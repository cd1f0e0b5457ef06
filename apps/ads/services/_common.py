"""Helpers shared by the ads service modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from apps.ads.errors import AdsValidationError


class Unset(Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET
"""Default of ``campaign_update`` arguments: leave the column as it is."""


def sources_of(transitions: Mapping[Any, frozenset[Any]], target: Enum) -> list[str]:
    """The statuses from which a transition table allows moving to ``target``."""
    return sorted(source.value for source, targets in transitions.items() if target in targets)


def dumps(value: Any) -> str:
    """Compact JSON text for a jsonb parameter (``{}`` without calling the encoder)."""
    if not value and isinstance(value, dict):
        return "{}"
    return json.dumps(value, separators=(",", ":"))


def json_object(value: Any, *, field: str) -> dict[str, Any]:
    """``value`` as a dict (None is ``{}``); AdsValidationError naming ``field`` otherwise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AdsValidationError(f"{field} must be a JSON object", field=field, rule="object")
    return dict(value)
