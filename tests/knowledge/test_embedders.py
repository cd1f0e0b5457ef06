"""Embedders: the offline hashed default, the vector checks, the OpenAI-compatible client."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from pydantic import SecretStr

from apps.core.errors import ConfigurationError
from apps.core.settings import Settings
from apps.knowledge.embedders import (
    DIMENSIONS,
    HASHED_MODEL,
    HashedEmbedder,
    OpenAIEmbedder,
    check_embedding,
    get_embedder,
    hashed_embedding,
    pad_embedding,
)
from apps.knowledge.errors import EmbedderUnavailableError, InvalidEmbeddingError


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def test_hashed_embedding_is_a_deterministic_unit_vector() -> None:
    # when the same text is embedded twice
    first = hashed_embedding("Return on ad spend is revenue divided by spend")
    second = hashed_embedding("Return on ad spend is revenue divided by spend")
    # then both are the same 1536-dimension unit vector
    assert first == second
    assert len(first) == DIMENSIONS
    assert math.isclose(math.sqrt(cosine(first, first)), 1.0, rel_tol=1e-9)


def test_hashed_embedding_is_stable_across_releases() -> None:
    # the buckets come from BLAKE2b, not Python's salted hash(): a stored vector stays
    # comparable with tomorrow's query vectors. These figures are pinned on purpose.
    vector = hashed_embedding("roas")
    nonzero = [index for index, value in enumerate(vector) if value]
    assert len(nonzero) == 10
    assert nonzero[:3] == [67, 69, 207]


def test_hashed_embedding_puts_related_texts_near_and_unrelated_far() -> None:
    # given a query and two documents, one on its topic
    query = hashed_embedding("how do I calculate the return on ad spend of a campaign")
    related = hashed_embedding("ROAS calculation: return on ad spend equals revenue over spend")
    unrelated = hashed_embedding("Personal data is deleted thirty days after account closure")
    # then the related one is much nearer
    assert cosine(query, related) > 0.3
    assert abs(cosine(query, unrelated)) < 0.1


def test_hashed_embedding_matches_word_forms_through_character_ngrams() -> None:
    # "campaigns" and "campaign" are different words but share most character n-grams
    plural = hashed_embedding("campaigns")
    assert cosine(plural, hashed_embedding("campaign")) > 0.3
    assert cosine(plural, hashed_embedding("invoice")) < 0.1


def test_text_without_content_words_embeds_to_zero_and_is_refused() -> None:
    assert not any(hashed_embedding("the and of"))
    with pytest.raises(InvalidEmbeddingError) as error:
        check_embedding(hashed_embedding("the and of"))
    assert error.value.rule == "non_zero"


@pytest.mark.parametrize(
    ("vector", "rule"),
    [
        ([0.1] * 3, "dimensions"),
        ([0.1] * (DIMENSIONS + 1), "dimensions"),
        ([float("nan")] + [0.1] * (DIMENSIONS - 1), "finite"),
        ([float("inf")] + [0.1] * (DIMENSIONS - 1), "finite"),
        ([0.0] * DIMENSIONS, "non_zero"),
    ],
)
def test_bad_vectors_are_refused_with_a_typed_error(vector: list[float], rule: str) -> None:
    with pytest.raises(InvalidEmbeddingError) as error:
        check_embedding(vector)
    assert error.value.field == "embedding"
    assert error.value.rule == rule
    assert error.value.code == "invalid_embedding"


def test_a_narrower_vector_is_zero_padded_without_changing_cosine() -> None:
    # given two 384-dimension vectors
    a = [math.sin(i) for i in range(384)]
    b = [math.cos(i / 3) for i in range(384)]
    # when padded to the column's width
    padded_a, padded_b = pad_embedding(a), pad_embedding(b)
    # then they fit the column and their cosine similarity is the same
    assert len(padded_a) == DIMENSIONS
    assert cosine(padded_a, padded_b) == pytest.approx(cosine(a, b))
    with pytest.raises(InvalidEmbeddingError):
        pad_embedding([1.0] * (DIMENSIONS + 1))


def test_get_embedder_follows_the_settings() -> None:
    offline = Settings(embedder="auto")
    assert isinstance(get_embedder(settings=offline), HashedEmbedder)
    keyed = Settings(embedder="auto", embedding_api_key=SecretStr("sk-test"))
    remote = get_embedder(settings=keyed)
    assert isinstance(remote, OpenAIEmbedder) and remote.model == "text-embedding-3-small"
    assert isinstance(get_embedder(settings=keyed, model=HASHED_MODEL), HashedEmbedder)
    assert get_embedder(settings=keyed, model="my-model").model == "my-model"
    with pytest.raises(ConfigurationError) as error:
        get_embedder(settings=Settings(embedder="openai"))
    assert error.value.field == "embedding_api_key"


class FakeEmbeddingsApi:
    """An OpenAI-compatible /embeddings endpoint answering through httpx.MockTransport."""

    def __init__(self, *, failures: list[int] | None = None, width: int = DIMENSIONS) -> None:
        self.failures = list(failures or [])
        self.width = width
        self.calls: list[dict[str, object]] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings"
        assert request.headers["authorization"] == "Bearer sk-test"
        body = json.loads(request.content)
        self.calls.append(body)
        if self.failures:
            status = self.failures.pop(0)
            if status == 0:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(
                status, json={"error": {"message": f"status {status}"}}, headers={}
            )
        data = [
            {"object": "embedding", "index": i, "embedding": self.vector(text)}
            for i, text in enumerate(body["input"])
        ]
        # answered out of order on purpose: the client must sort by index
        return httpx.Response(200, json={"data": data[::-1], "model": body["model"]})

    def vector(self, text: str) -> list[float]:
        vector = [0.0] * self.width
        vector[len(text) % self.width] = 1.0
        return vector


def fake_embedder(api: FakeEmbeddingsApi, **options: object) -> tuple[OpenAIEmbedder, list[float]]:
    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    embedder = OpenAIEmbedder(
        api_key=SecretStr("sk-test"),
        base_url="https://embeddings.test/v1",
        transport=api.transport,
        sleep=no_sleep,
        **options,  # type: ignore[arg-type]
    )
    return embedder, delays


async def test_openai_embedder_sends_batches_and_keeps_the_order() -> None:
    # given an API and a client sending 2 texts per request
    api = FakeEmbeddingsApi()
    embedder, _ = fake_embedder(api, batch_size=2)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    # when five texts are embedded
    vectors = await embedder.embed(texts)
    # then three requests carried them, and each vector belongs to its text
    assert [call["input"] for call in api.calls] == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert api.calls[0]["model"] == "text-embedding-3-small"
    assert api.calls[0]["dimensions"] == DIMENSIONS
    assert [vector.index(1.0) for vector in vectors] == [1, 2, 3, 4, 5]


async def test_openai_embedder_retries_rate_limits_server_errors_and_dropped_connections() -> None:
    # given an API that fails three times before answering
    api = FakeEmbeddingsApi(failures=[429, 0, 503])
    embedder, delays = fake_embedder(api, max_retries=3, backoff=0.5)
    # when a text is embedded
    vector = await embedder.embed_one("hello")
    # then it was retried with growing delays and succeeded
    assert len(api.calls) == 4
    assert vector.index(1.0) == 5
    assert len(delays) == 3 and delays[0] < delays[1] < delays[2]


async def test_openai_embedder_gives_up_after_the_retries_without_leaking_the_key() -> None:
    api = FakeEmbeddingsApi(failures=[500, 500, 500])
    embedder, _ = fake_embedder(api, max_retries=2)
    with pytest.raises(EmbedderUnavailableError) as error:
        await embedder.embed_one("hello")
    assert "HTTP 500" in error.value.message
    assert "sk-test" not in error.value.message
    assert len(api.calls) == 3


async def test_openai_embedder_does_not_retry_a_refused_key() -> None:
    api = FakeEmbeddingsApi(failures=[401])
    embedder, delays = fake_embedder(api, max_retries=5)
    with pytest.raises(EmbedderUnavailableError) as error:
        await embedder.embed_one("hello")
    assert "HTTP 401" in error.value.message
    assert len(api.calls) == 1 and delays == []


async def test_openai_embedder_refuses_vectors_of_the_wrong_width() -> None:
    # given a model answering 768-dimension vectors
    api = FakeEmbeddingsApi(width=768)
    embedder, _ = fake_embedder(api, model="some-768-model")
    # then its vectors are refused before they reach the database
    with pytest.raises(InvalidEmbeddingError) as error:
        await embedder.embed(["hello"])
    assert error.value.rule == "dimensions"
    assert "dimensions" not in api.calls[0]  # only text-embedding-3 models can shorten
