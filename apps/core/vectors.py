"""pgvector's types on the project's connections, with a cheaper encoder for ``vector``.

pgvector-python's asyncpg codec turns every ``vector`` argument into a ``Vector`` first
(``array('f', values)``), then copies and byte-swaps it into the binary format. A query
embedding is a list of 1,536 floats: :func:`encode_vector` packs a list or tuple straight
into the wire format with one precompiled ``struct.Struct`` (big-endian float32), no
intermediate object. A ``Vector``, a numpy array or anything the fast path cannot pack (a
value too large for float32, a non-number) goes through pgvector's own path, which accepts
or refuses it exactly as before. Decoding is pgvector's (a ``Vector``).
"""

from __future__ import annotations

import struct
from typing import Any

import asyncpg
from pgvector import HalfVector, SparseVector, Vector

MAX_DIMENSIONS = 16_000  # pgvector's limit for a vector column
_PACKERS: dict[int, struct.Struct] = {}


def _packer(dimensions: int) -> struct.Struct:
    packer = _PACKERS.get(dimensions)
    if packer is None:
        # dimensions, unused (0), then the values: pgvector's binary send format
        packer = _PACKERS[dimensions] = struct.Struct(f">HH{dimensions}f")
    return packer


def encode_vector(value: Any) -> bytes:
    """The binary form of a ``vector`` argument: a list or tuple of numbers, or a Vector."""
    kind = type(value)
    if (kind is list or kind is tuple) and 0 < len(value) <= MAX_DIMENSIONS:
        try:
            return _packer(len(value)).pack(len(value), 0, *value)
        except (struct.error, OverflowError, TypeError):
            pass  # pgvector's path accepts or refuses it as it always did
    if kind is tuple:
        value = list(value)  # pgvector's Vector takes a list or an ndarray
    vector = value if isinstance(value, Vector) else Vector(value)
    return vector.to_binary()


async def register_vector_codecs(connection: asyncpg.Connection, *, schema: str) -> None:
    """What ``pgvector.asyncpg.register_vector`` does, with :func:`encode_vector`."""
    await connection.set_type_codec(
        "vector",
        schema=schema,
        encoder=encode_vector,
        decoder=Vector.from_binary,
        format="binary",
    )
    try:
        await connection.set_type_codec(
            "halfvec",
            schema=schema,
            encoder=lambda v: (v if isinstance(v, HalfVector) else HalfVector(v)).to_binary(),
            decoder=HalfVector.from_binary,
            format="binary",
        )
        await connection.set_type_codec(
            "sparsevec",
            schema=schema,
            encoder=lambda v: (v if isinstance(v, SparseVector) else SparseVector(v)).to_binary(),
            decoder=SparseVector.from_binary,
            format="binary",
        )
    except ValueError as error:
        if not str(error).startswith("unknown type:"):
            raise
