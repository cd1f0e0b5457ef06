"""``GatewayTableConfig``: Piccolo Admin's ``TableConfig`` plus what this project needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns.base import Column
from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig

from apps.adminsite.registry import is_soft_deletable
from apps.core import rawsql

#: Columns no generic form writes on any table: the database or the services set them.
TIMESTAMP_COLUMNS = frozenset({"created_at", "updated_at", "deleted_at"})

#: ``update(row_id, changes)``: write the changed fields through the owning app's service.
Updater = Callable[[Any, dict[str, Any]], Awaitable[None]]
#: ``create(values)``: create a row through the owning app's service; returns its id.
Creator = Callable[[dict[str, Any]], Awaitable[Any]]


#: ``is_live(id_sql) -> SQL condition``: an app's one definition of its live rows.
LiveCondition = Callable[[str], str]


def dead_parents_sql(table: type[Table], column: str, live: LiveCondition) -> str:
    """The registered statement selecting the ``id`` of every parent (through ``table``'s
    foreign key ``column``) that ``live`` (the parent's app's condition) says is not live."""
    foreign_key = next(
        (c for c in table._meta.foreign_key_columns if c._meta.db_column_name == column), None
    )
    if foreign_key is None:
        raise TypeError(f"live_parents: {table._meta.tablename}.{column} is not a foreign key")
    parent = foreign_key._foreign_key_meta.resolved_references
    key = parent._meta.primary_key._meta.db_column_name
    return rawsql.statement(
        f"SELECT p.{key} AS id FROM {parent._meta.tablename} p WHERE NOT ({live(f'p.{key}')})",
        owner=__name__,
    )


@dataclass
class GatewayTableConfig(TableConfig):
    """A ``TableConfig`` with three more switches, read by :class:`GatewayCRUD`.

    :param read_only: no create, edit or delete routes at all (the audit log).
    :param hidden_columns: never sent nor accepted by the API, besides ``secret=True``
        columns (which are always hidden): e.g. a 1536-number embedding.
    :param big_table: estimated counts and index-only deep pages (millions of rows).
    :param editable_columns: what the generic edit form may change; every other column
        (statuses, derived columns, foreign keys that define the row, the timestamps) is
        shown but read only. A write that changes one is refused on the field, with
        ``read_only_hints[name]`` (the form or service that changes it) in the message.
    :param update: the owning app's service for a generic edit, called with the changed
        editable fields only. Without it the table takes no generic edits.
    :param create: the owning app's service for the generic "add row" form. Without it the
        table takes no generic creates: new rows come from ``create_hint``.
    :param creatable_columns: what the "add row" form may set (default: the editable
        columns). A row's defining columns (a campaign's user, a prediction's clip and
        figures) are set once at creation and read only afterwards. Any other column sent
        with a value other than its default is refused on the field.
    :param live_parents: ``(foreign key column, the parent's owning app's live condition)``:
        the condition is the function the owning app exports (``user_is_live``,
        ``asset_is_live``: ``is_live("p.id") -> SQL``), from which the admin selects the
        parent ids that are not live (soft-deleted, or under a soft-deleted parent). The
        lists hide the rows of those parents, like the parents themselves, unless they
        filter on ``deleted_at``. The ids are read first (usually none: then the list's query
        is unchanged, index-only deep pages included).
    """

    read_only: bool = False
    hidden_columns: list[Column] = field(default_factory=list)
    big_table: bool = False
    editable_columns: list[Column] = field(default_factory=list)
    read_only_hints: Mapping[str, str] = field(default_factory=dict)
    update: Updater | None = None
    create: Creator | None = None
    creatable_columns: list[Column] = field(default_factory=list)
    create_hint: str = "their services and forms"
    live_parents: tuple[str, LiveCondition] | None = None
    #: The registered statement selecting the not-live parents' ids (from ``live_parents``).
    dead_parents_sql: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.dead_parents_sql = (
            None
            if self.live_parents is None
            else dead_parents_sql(self.table_class, *self.live_parents)
        )

    def hidden_column_names(self) -> frozenset[str]:
        """Names of the columns the API never shows nor accepts."""
        names = {column._meta.name for column in self.hidden_columns}
        names.update(column._meta.name for column in self.table_class._meta.secret_columns)
        return frozenset(names)

    def soft_deletes(self) -> bool:
        """Whether deleting a row from the admin only sets ``deleted_at``."""
        return is_soft_deletable(self.table_class)

    def read_only_column_names(self) -> frozenset[str]:
        """Columns the generic forms show but never write (the primary key included)."""
        editable = {column._meta.name for column in self.editable_columns} - TIMESTAMP_COLUMNS
        return frozenset(
            c._meta.name for c in self.table_class._meta.columns if c._meta.name not in editable
        )

    def creatable_column_names(self) -> frozenset[str]:
        """Columns the "add row" form may set."""
        columns = self.creatable_columns or self.editable_columns
        return frozenset(column._meta.name for column in columns) - TIMESTAMP_COLUMNS
