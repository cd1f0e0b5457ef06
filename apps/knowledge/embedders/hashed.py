"""The offline default: hashed word and character n-gram features, no model, no network.

A text becomes a bag of features: its words (minus English stop words), pairs of adjacent
words, and the character 3- to 5-grams of each word (so "campaign" and "campaigns", or
"calculate" and "calculation", share most of their features). Each feature is hashed with
BLAKE2b (stable across processes and machines, unlike Python's ``hash()``) to one of the
1536 dimensions and a sign, weighted by 1 + log(term frequency), and the sum is
L2-normalised. Texts that share words are near in cosine distance; unrelated texts are far.
This is the "hashing trick" of Weinberger et al.: a fixed random projection of an unbounded
vocabulary, deterministic and dependency-free.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from hashlib import blake2b

from apps.knowledge.embedders.base import DIMENSIONS, Embedder

MODEL = "gatewaydb-hashed-ngram-v1"

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()  # noqa: SIM905 - a word list reads better as prose
)
_WORD_WEIGHT = 1.0
_PAIR_WEIGHT = 0.5
# The n-grams of one word together weigh as much as the word (each 1/sqrt(count)), so a
# long word does not outweigh a short one and word forms still count.
_CHAR_WEIGHT = 1.0
_CHAR_SIZES = (3, 4, 5)


def _bucket(feature: str) -> tuple[int, float]:
    """The dimension and the sign (+1 or -1) of one feature."""
    digest = int.from_bytes(blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % DIMENSIONS, (1.0 if (digest >> 63) & 1 else -1.0)


@lru_cache(maxsize=65536)
def _word_features(word: str) -> tuple[tuple[int, float], ...]:
    """The weighted buckets of a word: itself and its character n-grams."""
    features = [_weighted(_bucket("w:" + word), _WORD_WEIGHT)]
    padded = f"<{word}>"
    grams = [padded[i : i + n] for n in _CHAR_SIZES for i in range(len(padded) - n + 1)]
    if grams:
        weight = _CHAR_WEIGHT / math.sqrt(len(grams))
        features.extend(_weighted(_bucket("c:" + gram), weight) for gram in grams)
    return tuple(features)


def _weighted(bucket: tuple[int, float], weight: float) -> tuple[int, float]:
    return bucket[0], bucket[1] * weight


def tokens(text: str) -> list[str]:
    """The content words of ``text``: case-folded, accents kept, stop words dropped."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return [word for word in words if word not in _STOP_WORDS]


def hashed_embedding(text: str) -> list[float]:
    """The unit vector of ``text`` (the zero vector when it has no content word)."""
    words = tokens(text)
    counts = Counter(words)
    pairs = Counter(f"{a} {b}" for a, b in itertools.pairwise(words))
    vector = [0.0] * DIMENSIONS
    for word, count in counts.items():
        scale = 1.0 + math.log(count)
        for index, value in _word_features(word):
            vector[index] += value * scale
    for pair, count in pairs.items():
        index, sign = _bucket("p:" + pair)
        vector[index] += sign * _PAIR_WEIGHT * (1.0 + math.log(count))
    norm = math.sqrt(math.fsum(value * value for value in vector))
    if norm == 0.0:
        return vector
    return [value / norm for value in vector]


class HashedEmbedder(Embedder):
    """Deterministic offline embedder; the default when no embeddings API is configured."""

    model = MODEL
    batch_size = 256

    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        return [hashed_embedding(text) for text in texts]
