"""Keyset (cursor) pagination shared by every ``<entity>_list`` selector.

A cursor is opaque to callers: the sort-key values of the last row of a page, plus the name
of the list it belongs to, serialised and signed with the settings' secret key. A cursor from
another list, or one that was tampered with, is refused with a :class:`ValidationError`.

Selectors compare with a row value, ``(sort_key, id) > ($1, $2)``, which the composite index
on ``(sort_key, id)`` serves directly, so a deep page costs what the first one does.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from apps.core.errors import ValidationError
from apps.core.settings import get_settings

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next page (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def page_size(limit: int | None, *, maximum: int = MAX_PAGE_SIZE) -> int:
    """Check a requested page size; None means the default."""
    if limit is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if limit < 1 or limit > maximum:
        raise ValidationError(
            f"limit must be between 1 and {maximum}, not {limit}", field="limit", rule="range"
        )
    return limit


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"t": "d", "v": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"t": "dec", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {"t": "uuid", "v": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} in a cursor")


def _decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kind, raw = value["t"], value["v"]
    if kind == "dt":
        return datetime.datetime.fromisoformat(raw)
    if kind == "d":
        return datetime.date.fromisoformat(raw)
    if kind == "dec":
        return decimal.Decimal(raw)
    if kind == "uuid":
        return uuid.UUID(raw)
    raise ValueError(kind)


def _signature(payload: bytes) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, b"cursor:" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_cursor(*, list_name: str, values: Sequence[Any]) -> str:
    """An opaque, signed cursor for the row whose sort key is ``values``."""
    payload = json.dumps(
        {"l": list_name, "k": [_encode_value(v) for v in values]}, separators=(",", ":")
    ).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_signature(payload)}"


def decode_cursor(cursor: str, *, list_name: str) -> list[Any]:
    """The sort-key values of a cursor made by :func:`encode_cursor` for ``list_name``."""
    try:
        body, signature = cursor.split(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise ValidationError("cursor is malformed", field="cursor", rule="malformed") from None
    if not hmac.compare_digest(signature, _signature(payload)):
        raise ValidationError(
            "cursor was altered or made elsewhere", field="cursor", rule="tampered"
        )
    try:
        data = json.loads(payload)
        values = [_decode_value(v) for v in data["k"]]
    except (ValueError, KeyError, TypeError):
        raise ValidationError("cursor is malformed", field="cursor", rule="malformed") from None
    if data.get("l") != list_name:
        raise ValidationError(
            f"cursor belongs to the list {data.get('l')!r}, not {list_name!r}",
            field="cursor",
            rule="wrong_list",
        )
    return values
