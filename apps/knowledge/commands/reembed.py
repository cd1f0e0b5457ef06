"""``piccolo knowledge reembed``: bring every document's embedding to one model."""

from __future__ import annotations

import asyncio
import sys

from apps.core.errors import GatewayError
from apps.knowledge.embedders import get_embedder
from apps.knowledge.services import document_reembed
from apps.knowledge.tables import KnowledgeDocument


async def _reembed(*, model: str | None, batch_size: int) -> int:
    embedder = get_embedder(model=model)
    print(f"re-embedding with {embedder.model} in batches of {batch_size}", flush=True)

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} documents", flush=True)

    engine = KnowledgeDocument._meta.db
    await engine.start_connection_pool()
    try:
        return await document_reembed(
            embedder=embedder, batch_size=batch_size, on_progress=progress
        )
    finally:
        await engine.close_connection_pool()


def reembed(model: str | None = None, batch_size: int = 64) -> None:
    """Recompute the embeddings of documents made by another model (or not embedded yet).

    Works in batches, each committed on its own: interrupt it at any time and run it again
    to resume where it stopped.

    :param model:
        The embedding model to bring documents to: gatewaydb-hashed-ngram-v1 (offline) or
        a model of the OpenAI-compatible API. Default: the configured embedder's.
    :param batch_size:
        Documents embedded and committed per batch.
    """
    if batch_size < 1:
        print("error: --batch_size must be at least 1", file=sys.stderr)
        sys.exit(2)
    try:
        done = asyncio.run(_reembed(model=model, batch_size=batch_size))
    except GatewayError as error:
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: finished batches are saved; run again to resume", file=sys.stderr)
        sys.exit(130)
    print(f"done: {done} documents re-embedded", flush=True)
