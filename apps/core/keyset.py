"""Keyset (cursor) lists: their statements, built once, and their pages.

Every ``<entity>_list`` selector of the project is a :class:`KeysetList`: a ``SELECT`` with
fixed conditions, optional filters, an order that ends with the id (the tie breaker), and a
page size. The list builds and registers (:func:`apps.core.rawsql.statement`) one statement
per combination of its filters, with and without a cursor, at import time; a page runs the
one that fits, asks for ``limit + 1`` rows, keeps ``limit`` and makes the next cursor
(:mod:`apps.core.pagination`, signed) from the last row kept.

Conditions write ``$?`` for each parameter; the statement numbers them in order (fixed
conditions first, then the filters chosen, in order). A condition may also name an earlier
parameter explicitly (``$1``). After the filters come the cursor's values, then the page size
as the last parameter. The cursor condition is derived from the order: a row comparison
``(created_at, id) < ($5, $6)`` when every column sorts the same way (which a composite
index on those columns serves directly, so a deep page costs what the first one does), and
its lexicographic expansion ``score < $5 OR (score = $5 AND (created_at, id) > ($6, $7))``
when directions are mixed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

from piccolo.table import Table

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.pagination import Page, decode_cursor, encode_cursor, page_size

R = TypeVar("R")
T = TypeVar("T")

Direction = Literal["ASC", "DESC"]
Filter = Mapping[Any, str | None]
"""The choices of one filter and the condition each adds (None: no condition)."""


def optional(condition: str) -> Filter:
    """A filter that is either off (``False``) or adds ``condition`` (``True``)."""
    return {False: None, True: condition}


def cursor_after(cursor: str, *, list_name: str, types: Sequence[type]) -> list[Any]:
    """The sort-key values in ``cursor``; ValidationError when it is not a cursor of this list."""
    values = decode_cursor(cursor, list_name=list_name)
    if len(values) != len(types) or not all(
        isinstance(value, kind) for value, kind in zip(values, types, strict=True)
    ):
        raise ValidationError(
            f"cursor does not fit the list {list_name!r}", field="cursor", rule="wrong_list"
        )
    return values


def keyset_page(rows: Sequence[T], *, limit: int, list_name: str, key: Sequence[str]) -> Page[T]:
    """The first ``limit`` of ``rows`` (fetched with ``limit + 1``) and the next cursor, made
    of the values of the ``key`` fields of the last row kept."""
    if len(rows) <= limit:
        return Page(items=list(rows), next_cursor=None)
    items = list(rows[:limit])
    last: Any = items[-1]
    return Page(
        items=items,
        next_cursor=encode_cursor(list_name=list_name, values=[last[name] for name in key]),
    )


def _after_condition(order: Sequence[tuple[str, Direction]], first: int) -> str:
    """The condition "after the cursor" for ``order``, its values from ``$first`` on."""
    pieces: list[tuple[str, str]] = []  # per run of one direction: (strictly after, equal)
    number = first
    for direction, run in itertools.groupby(order, key=lambda item: item[1]):
        names = [column for column, _ in run]
        params = [f"${number + i}" for i in range(len(names))]
        number += len(names)
        if len(names) == 1:
            left, right = names[0], params[0]
        else:
            left, right = f"({', '.join(names)})", f"({', '.join(params)})"
        operator = ">" if direction == "ASC" else "<"
        pieces.append((f"{left} {operator} {right}", f"{left} = {right}"))
    condition = pieces[-1][0]
    for after, equal in reversed(pieces[:-1]):
        condition = f"({after} OR ({equal} AND {condition}))"
    return condition


class KeysetList(Generic[R]):
    """A keyset-paged list of ``record_class`` rows read from ``table``'s engine.

    ``select`` is ``SELECT <columns> FROM <tables>``; ``where`` the conditions every page
    has; ``filters`` the optional ones, by name, each a mapping from the caller's choice to
    the condition it adds (:func:`optional` for on/off); ``order`` the sort, ending with the
    id; ``types`` the Python types of the sort key's values (a cursor must carry those).
    """

    def __init__(
        self,
        table: type[Table],
        *,
        select: str,
        where: Sequence[str] = (),
        filters: Mapping[str, Filter] | None = None,
        order: Sequence[tuple[str, Direction]],
        types: Sequence[type],
        record_class: type[R],
        owner: str,
    ) -> None:
        if len(types) != len(order):
            raise TypeError("a keyset list needs one type per sort column")
        self.table = table
        self.record_class = record_class
        self.types = tuple(types)
        self.filters = dict(filters or {})
        # Per filter, in order: whether the caller gives it a value to bind (an on/off filter
        # whose condition has a parameter) rather than a choice.
        self._valued = {
            name: set(choices) == {False, True} and "$?" in str(choices[True])
            for name, choices in self.filters.items()
        }
        # The cursor's fields: the sort columns without their table alias.
        self.key = tuple(column.rpartition(".")[2] for column, _ in order)
        order_by = ", ".join(f"{column} {direction}" for column, direction in order)
        self.statements: dict[tuple[Hashable, ...], str] = {}
        for choices in itertools.product(*(list(f) for f in self.filters.values())):
            conditions = [*where]
            for filter_, choice in zip(self.filters.values(), choices, strict=True):
                if (condition := filter_[choice]) is not None:
                    conditions.append(condition)
            sql, number = _numbered(conditions)
            for after in (False, True):
                text = sql
                last = number
                if after:
                    cursor = _after_condition(order, number + 1)
                    text = f"{text} AND {cursor}" if text else cursor
                    last += len(order)
                where_sql = f" WHERE {text}" if text else ""
                self.statements[(*choices, after)] = rawsql.statement(
                    f"{select}{where_sql} ORDER BY {order_by} LIMIT ${last + 1}", owner=owner
                )

    async def page(
        self,
        *args: Any,
        limit: int | None,
        cursor: str | None,
        list_name: str,
        **filters: Any,
    ) -> Page[R]:
        """One page: ``args`` are the values of the fixed conditions; each filter is named
        once. A filter made by :func:`optional` whose condition takes a value (``$?``) is
        given that value, ``None`` leaving it off; any other filter is given its choice.

        ``list_name`` must hold every filter value: a cursor of another list is refused.
        """
        size = page_size(limit)
        key: list[Hashable] = []
        values = list(args)
        for name, valued in self._valued.items():
            given = filters[name]
            if valued:
                key.append(given is not None)
                if given is not None:
                    values.append(given)
            else:
                key.append(given)
        if cursor is not None:
            values += cursor_after(cursor, list_name=list_name, types=self.types)
        rows = await rawsql.fetch(
            rawsql.engine_of(self.table),
            self.statements[(*key, cursor is not None)],
            *values,
            size + 1,
            record_class=self.record_class,
        )
        return keyset_page(rows, limit=size, list_name=list_name, key=self.key)


def _numbered(conditions: Sequence[str]) -> tuple[str, int]:
    """``conditions`` joined with AND, each ``$?`` numbered after every parameter before it
    (explicit ``$n`` included); and the highest parameter number used."""
    parts, number = [], 0
    for condition in conditions:
        number = max(number, *(int(n) for n in re.findall(r"\$(\d+)", condition)), 0)
        while "$?" in condition:
            number += 1
            condition = condition.replace("$?", f"${number}", 1)
        parts.append(condition)
    return " AND ".join(parts), number
