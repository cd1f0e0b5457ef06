"""The one "argument not given" marker of the project.

An update service takes ``field: T | Unset = UNSET`` for every column it can change, so that
``None`` can mean "set NULL" where the column is nullable and leaving the argument out means
"keep the column as it is":

    async def campaign_update(*, campaign_id: UUID, description: str | None | Unset = UNSET): ...

``@validated`` knows the marker (a one-member enum) and never reports it in an error.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final


class Unset(Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def given(**arguments: Any) -> dict[str, Any]:
    """The arguments that were given: every one whose value is not :data:`UNSET`."""
    return {name: value for name, value in arguments.items() if value is not UNSET}
