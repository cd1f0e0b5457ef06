"""An OpenAI-compatible embeddings API (OpenAI, Azure-style proxies, vLLM, Ollama, ...).

``POST {base_url}/embeddings`` with ``{"model": ..., "input": [...]}``, in batches of
``batch_size`` texts. Rate limits (429), server errors (5xx), timeouts and dropped
connections are retried with exponential backoff (honouring ``Retry-After``); other client
errors (a bad key, an unknown model) fail at once. The API key is sent as a bearer token and
never appears in an error message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from apps.knowledge.embedders.base import DIMENSIONS, Embedder
from apps.knowledge.errors import EmbedderUnavailableError

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF = 30.0


class OpenAIEmbedder(Embedder):
    """Embeddings from an OpenAI-compatible HTTP API, batched and retried."""

    def __init__(
        self,
        *,
        api_key: SecretStr,
        model: str = "text-embedding-3-small",
        base_url: str = "https://api.openai.com/v1",
        batch_size: int = 64,
        max_retries: int = 4,
        timeout: float = 30.0,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.transport = transport
        self.sleep = sleep

    def _payload(self, texts: Sequence[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "input": list(texts),
            "encoding_format": "float",
        }
        # The text-embedding-3 models can shorten their output; ask for the column's width.
        if self.model.startswith("text-embedding-3"):
            payload["dimensions"] = DIMENSIONS
        return payload

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after is not None:
                try:
                    return min(max(float(retry_after), 0.0), _MAX_BACKOFF)
                except ValueError:
                    pass
        delay: float = self.backoff * 2**attempt * (1 + random.random() / 4)
        return min(delay, _MAX_BACKOFF)

    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        headers = {"Authorization": f"Bearer {self.api_key.get_secret_value()}"}
        url = f"{self.base_url}/embeddings"
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            for attempt in range(self.max_retries + 1):
                last_try = attempt == self.max_retries
                try:
                    response = await client.post(url, json=self._payload(texts), headers=headers)
                except httpx.TransportError as error:
                    if last_try:
                        raise EmbedderUnavailableError(
                            f"{self.model}: {url} unreachable after {attempt + 1} attempts "
                            f"({type(error).__name__})"
                        ) from None
                    await self.sleep(self._delay(attempt, None))
                    continue
                if response.status_code in _RETRY_STATUSES and not last_try:
                    await self.sleep(self._delay(attempt, response))
                    continue
                if response.status_code != 200:
                    raise EmbedderUnavailableError(
                        f"{self.model}: {url} answered HTTP {response.status_code} "
                        f"after {attempt + 1} attempts: {_error_message(response)}"
                    )
                return _vectors(response, expected=len(texts), model=self.model)
        raise AssertionError("unreachable")  # pragma: no cover


def _error_message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    return str(message)[:200]


def _vectors(response: httpx.Response, *, expected: int, model: str) -> list[list[float]]:
    try:
        items = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = [item["embedding"] for item in items]
    except (ValueError, KeyError, TypeError):
        raise EmbedderUnavailableError(f"{model}: malformed embeddings response") from None
    if len(vectors) != expected or not all(isinstance(v, list) for v in vectors):
        raise EmbedderUnavailableError(
            f"{model}: expected {expected} embeddings, got {len(vectors)}"
        )
    return vectors
