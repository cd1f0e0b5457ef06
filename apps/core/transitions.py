"""The one helper behind every status machine (asset, campaign, experiment).

A machine is a table ``{status: statuses it may move to}``. A service changes a status with
one conditional UPDATE (``... WHERE id = $1 AND status = ANY($2)``, the sources of the target
from :meth:`Transitions.sources`), so two concurrent changes cannot both apply from the same
starting status; when the UPDATE matches nothing it reads the current status and raises
:meth:`Transitions.refused`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Generic, TypeVar

from apps.core.errors import InvalidStateTransitionError

S = TypeVar("S", bound=Enum)


class Transitions(Generic[S]):
    """The allowed moves of one status column and the error that refuses the others."""

    def __init__(
        self,
        moves: Mapping[S, frozenset[S]],
        *,
        entity: str,
        error: type[InvalidStateTransitionError],
    ) -> None:
        self.moves = moves
        self.entity = entity
        self.error = error

    def allows(self, source: S, target: S) -> bool:
        """Whether a row in ``source`` may move to ``target``."""
        return target in self.moves.get(source, frozenset())

    def sources(self, target: S) -> list[str]:
        """The status values from which ``target`` may be reached, sorted."""
        return sorted(source.value for source, targets in self.moves.items() if target in targets)

    def refused(self, *, current: str, target: S, detail: str = "") -> InvalidStateTransitionError:
        """The error for a row in ``current`` that cannot move to ``target``.

        Its ``field`` is ``status`` and its ``rule`` the refused move (``DRAFT->ARCHIVED``).
        """
        article = "an" if current[:1] in "AEIOU" else "a"
        return self.error(
            f"{article} {current} {self.entity} cannot become {target.value}{detail}",
            current=current,
            requested=target.value,
        )
