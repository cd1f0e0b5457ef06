"""Embedders: the interface, the offline default and an OpenAI-compatible provider.

:func:`get_embedder` returns the one the settings choose (``GATEWAYDB_EMBEDDER``): ``auto``
(the default) uses the OpenAI-compatible API when ``GATEWAYDB_EMBEDDING_API_KEY`` is set and
the offline hashed embedder otherwise.
"""

from __future__ import annotations

from apps.core.errors import ConfigurationError
from apps.core.settings import Settings, get_settings
from apps.knowledge.embedders.base import DIMENSIONS, Embedder, check_embedding, pad_embedding
from apps.knowledge.embedders.hashed import MODEL as HASHED_MODEL
from apps.knowledge.embedders.hashed import HashedEmbedder, hashed_embedding
from apps.knowledge.embedders.openai import OpenAIEmbedder

__all__ = [
    "DIMENSIONS",
    "HASHED_MODEL",
    "Embedder",
    "HashedEmbedder",
    "OpenAIEmbedder",
    "check_embedding",
    "get_embedder",
    "hashed_embedding",
    "pad_embedding",
]


def get_embedder(*, model: str | None = None, settings: Settings | None = None) -> Embedder:
    """The configured embedder, or the one that makes ``model`` when a model is named."""
    settings = settings or get_settings()
    if model == HASHED_MODEL or (
        model is None
        and (
            settings.embedder == "hashed"
            or (settings.embedder == "auto" and settings.embedding_api_key is None)
        )
    ):
        return HashedEmbedder()
    if settings.embedding_api_key is None:
        raise ConfigurationError(
            f"embedding model {model or settings.embedding_api_model!r} needs "
            "GATEWAYDB_EMBEDDING_API_KEY (or use the offline model "
            f"{HASHED_MODEL!r})",
            field="embedding_api_key",
            rule="required",
        )
    return OpenAIEmbedder(
        api_key=settings.embedding_api_key,
        model=model or settings.embedding_api_model,
        base_url=settings.embedding_api_base_url,
        batch_size=settings.embedding_batch_size,
        max_retries=settings.embedding_max_retries,
        timeout=settings.embedding_timeout,
    )
