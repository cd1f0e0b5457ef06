"""Building keyset pages on top of the signed cursors of :mod:`apps.core.pagination`.

A selector asks for ``limit + 1`` rows ordered by its sort key (the id last, as the tie
breaker) and hands them to :func:`keyset_page`, which keeps ``limit`` of them and makes the
next cursor from the last one kept. :func:`cursor_after` decodes a cursor and checks that its
values have the types the list sorts by, so a selector can bind them to a row comparison such
as ``(created_at, id) < ($2, $3)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from apps.core.errors import ValidationError
from apps.core.pagination import Page, decode_cursor, encode_cursor

T = TypeVar("T")


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


def keyset_page(
    rows: Sequence[T], *, limit: int, list_name: str, key: Callable[[T], Sequence[Any]]
) -> Page[T]:
    """The first ``limit`` of ``rows`` (fetched with ``limit + 1``) and the next cursor."""
    if len(rows) <= limit:
        return Page(items=list(rows), next_cursor=None)
    items = list(rows[:limit])
    return Page(items=items, next_cursor=encode_cursor(list_name=list_name, values=key(items[-1])))
