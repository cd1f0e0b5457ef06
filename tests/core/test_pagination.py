"""Signed keyset cursors."""

import datetime
import decimal
import uuid

import pytest

from apps.core.errors import ValidationError
from apps.core.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor, page_size


def test_cursor_round_trips_typed_values() -> None:
    values = [
        datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC),
        decimal.Decimal("12.34"),
        uuid.uuid4(),
        datetime.date(2026, 1, 2),
        0.5,
        None,
        "text",
    ]
    cursor = encode_cursor(list_name="clips", values=values)
    assert decode_cursor(cursor, list_name="clips") == values


def test_a_cursor_from_another_list_is_refused() -> None:
    cursor = encode_cursor(list_name="clips", values=[1])
    with pytest.raises(ValidationError) as info:
        decode_cursor(cursor, list_name="campaigns")
    assert (info.value.field, info.value.rule) == ("cursor", "wrong_list")


def test_a_tampered_cursor_is_refused() -> None:
    cursor = encode_cursor(list_name="clips", values=[1])
    body, signature = cursor.split(".")
    forged = encode_cursor(list_name="clips", values=[2]).split(".")[0]
    with pytest.raises(ValidationError) as info:
        decode_cursor(f"{forged}.{signature}", list_name="clips")
    assert info.value.rule == "tampered"
    for garbage in ["", "abc", "!!!.???", f"{body}"]:
        with pytest.raises(ValidationError):
            decode_cursor(garbage, list_name="clips")


def test_page_size_is_bounded() -> None:
    assert page_size(None) == 50 and page_size(1) == 1 and page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for bad in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(ValidationError) as info:
            page_size(bad)
        assert info.value.field == "limit"
