"""``@validated`` on a ``Sequence[float]`` argument: the all-floats fast path (an embedding
has 1,536 items) refuses and accepts exactly what the item-by-item check does."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from apps.core.errors import ValidationError
from apps.core.validation import validated


@validated
async def _takes_vector(*, vector: Sequence[float] | None = None) -> list[float] | None:
    return None if vector is None else list(vector)


async def test_a_long_list_of_floats_passes_unchanged() -> None:
    values = [i / 1536 for i in range(1536)]
    assert await _takes_vector(vector=values) == values
    assert await _takes_vector(vector=tuple(values)) == values


async def test_finite_floats_whose_sum_overflows_still_pass() -> None:
    assert await _takes_vector(vector=[1e308, 1e308]) == [1e308, 1e308]


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ([0.5] * 1535 + [math.nan], "finite"),
        ([0.5] * 1535 + [math.inf], "finite"),
        ([math.inf, -math.inf], "finite"),
        ([0.5, True], "type"),
        ([0.5, "0.5"], "type"),
        ([0.5, 2**64], "int64"),
    ],
    ids=["nan", "infinity", "inf-minus-inf", "bool", "str", "int-out-of-range"],
)
async def test_a_bad_item_is_named_with_its_rule(bad: list[Any], rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await _takes_vector(vector=bad)
    assert caught.value.field == "vector"
    assert caught.value.rule == rule


async def test_ints_in_range_are_accepted_as_before() -> None:
    assert await _takes_vector(vector=[1, 2.5]) == [1, 2.5]
