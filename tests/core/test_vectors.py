"""The connections' ``vector`` encoder packs lists and tuples straight into pgvector's binary
format, byte for byte what pgvector-python's codec sends, and leaves everything else to it."""

from __future__ import annotations

import math

import pytest
from pgvector import Vector

from apps.core import rawsql
from apps.core.vectors import encode_vector
from apps.knowledge.tables import KnowledgeDocument


@pytest.mark.parametrize(
    "values",
    [
        [i / 1536 - 0.5 for i in range(1536)],
        [1, 2.5, -3],
        [0.1, 1e-45, -1e38],
        [1e300, -1e300],  # beyond float32: pgvector's path (infinities), as before
        [math.nan, 1.0],
    ],
    ids=["embedding", "ints", "float32-edges", "too-large", "nan"],
)
def test_a_list_or_tuple_is_packed_as_pgvector_packs_it(values: list[float]) -> None:
    expected = Vector(values).to_binary()
    assert encode_vector(values) == expected
    assert encode_vector(tuple(values)) == expected
    assert encode_vector(Vector(values)) == expected


def test_what_pgvector_refuses_is_still_refused() -> None:
    with pytest.raises(ValueError, match="expected list"):
        encode_vector([0.5, "0.5"])
    with pytest.raises(ValueError, match="expected list"):
        encode_vector("0.5, 0.5")


async def test_a_list_argument_reaches_the_server_as_the_same_vector() -> None:
    engine = rawsql.engine_of(KnowledgeDocument)
    values = [0.25, -1.5, 3.0]
    text = await rawsql.fetchval(engine, "SELECT $1::vector(3)::text", values)
    assert text == "[0.25,-1.5,3]"
    back = await rawsql.fetchval(engine, "SELECT $1::vector(3)", tuple(values))
    assert isinstance(back, Vector) and back.to_list() == values
