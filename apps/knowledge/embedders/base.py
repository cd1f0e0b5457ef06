"""The embedder interface and the checks every vector passes before it is stored."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

from apps.knowledge.errors import InvalidEmbeddingError

# The width of knowledge_documents.embedding (see tables.EMBEDDING_DIMENSIONS).
DIMENSIONS = 1536


def check_embedding(
    vector: Sequence[float], *, dimensions: int = DIMENSIONS, items_checked: bool = False
) -> list[float]:
    """``vector`` as a list of floats, or InvalidEmbeddingError naming the broken rule.

    Refused: another length than the column's, NaN or infinite values, and the zero vector
    (its cosine distance to anything is undefined). ``items_checked=True`` is for a vector
    ``@validated`` already checked as a ``Sequence[float]`` (finite floats or ints, no
    bools): its items are not converted nor checked a second time (a search's embedding
    has 1,536 of them).
    """
    if len(vector) != dimensions:
        raise InvalidEmbeddingError(
            f"embedding has {len(vector)} dimensions; the column takes exactly {dimensions}",
            field="embedding",
            rule="dimensions",
        )
    if items_checked:
        values = vector if type(vector) is list else list(vector)
    else:
        values = list(map(float, vector))
        # One C-level sum instead of a call per value: NaN or an infinity makes it
        # non-finite (so do finite values too large to add up, hence the value-by-value
        # check then).
        if not math.isfinite(sum(values)) and not all(math.isfinite(value) for value in values):
            raise InvalidEmbeddingError(
                "embedding contains NaN or infinite values", field="embedding", rule="finite"
            )
    if not any(values):
        raise InvalidEmbeddingError(
            "embedding is the zero vector (cosine distance undefined)",
            field="embedding",
            rule="non_zero",
        )
    return values


def pad_embedding(vector: Sequence[float], *, dimensions: int = DIMENSIONS) -> list[float]:
    """A narrower model's vector zero-padded to ``dimensions``; cosine similarity is unchanged."""
    if len(vector) > dimensions:
        raise InvalidEmbeddingError(
            f"embedding has {len(vector)} dimensions, more than the column's {dimensions}",
            field="embedding",
            rule="dimensions",
        )
    return [*vector, *([0.0] * (dimensions - len(vector)))]


class Embedder(ABC):
    """Turns texts into vectors of :data:`DIMENSIONS` floats.

    ``model`` is recorded in ``knowledge_documents.embedding_model`` beside every vector it
    makes, so vectors of different models are never compared and ``reembed`` knows what is
    stale. Subclasses implement :meth:`_embed_batch`; :meth:`embed` batches and checks.
    """

    model: str
    dimensions: int = DIMENSIONS
    batch_size: int = 64

    @abstractmethod
    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for at most ``batch_size`` texts, in order."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One checked vector per text, in order (InvalidEmbeddingError on a bad vector)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            produced = await self._embed_batch(batch)
            if len(produced) != len(batch):
                raise InvalidEmbeddingError(
                    f"{self.model} returned {len(produced)} vectors for {len(batch)} texts",
                    field="embedding",
                    rule="count",
                )
            vectors.extend(check_embedding(v, dimensions=self.dimensions) for v in produced)
        return vectors

    async def embed_one(self, text: str) -> list[float]:
        """The checked vector of one text."""
        return (await self.embed([text]))[0]
