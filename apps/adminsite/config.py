"""``GatewayTableConfig``: Piccolo Admin's ``TableConfig`` plus what this project needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from piccolo.columns.base import Column
from piccolo_admin.endpoints import TableConfig


@dataclass
class GatewayTableConfig(TableConfig):
    """A ``TableConfig`` with three more switches, read by :class:`GatewayCRUD`.

    :param read_only: no create, edit or delete routes at all (the audit log).
    :param hidden_columns: never sent nor accepted by the API, besides ``secret=True``
        columns (which are always hidden): e.g. a 1536-number embedding.
    :param big_table: estimated counts and index-only deep pages (millions of rows).
    """

    read_only: bool = False
    hidden_columns: list[Column] = field(default_factory=list)
    big_table: bool = False

    def hidden_column_names(self) -> frozenset[str]:
        """Names of the columns the API never shows nor accepts."""
        names = {column._meta.name for column in self.hidden_columns}
        names.update(column._meta.name for column in self.table_class._meta.secret_columns)
        return frozenset(names)

    def soft_deletes(self) -> bool:
        """Whether deleting a row from the admin only sets ``deleted_at``."""
        return any(c._meta.name == "deleted_at" for c in self.table_class._meta.columns)
