"""Column types Piccolo does not ship."""

from __future__ import annotations

from typing import Any

from piccolo.columns.base import Column


class Vector(Column):
    """A pgvector ``vector(n)`` column (needs the ``vector`` extension).

    Write values as ``pgvector.Vector`` (or a numpy array): the codec registered by
    ``apps.core.engine.init_connection`` sends them in binary. A plain list also works in raw
    SQL, but Piccolo's query builder converts lists item by item and warns past 100 items.
    Reads return ``pgvector.Vector``.
    The database refuses a vector of another length. Auto-migrations serialise it like any
    column, with its dimensions.
    """

    value_type = list

    def __init__(self, dimensions: int = 1536, default: None = None, **kwargs: Any) -> None:
        if dimensions < 1 or dimensions > 16000:
            raise ValueError("a pgvector column has between 1 and 16000 dimensions")
        self.dimensions = dimensions
        self.default = default
        kwargs.update({"dimensions": dimensions, "default": default})
        super().__init__(**kwargs)

    @property
    def column_type(self) -> str:
        return f"VECTOR({self.dimensions})"
