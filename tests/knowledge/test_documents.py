"""Documents through the services: create, update with versions, restore, soft delete."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from apps.core.errors import ValidationError
from apps.knowledge import selectors, services
from apps.knowledge.embedders import HASHED_MODEL, hashed_embedding
from apps.knowledge.errors import (
    DocumentNotFoundError,
    DocumentVersionNotFoundError,
    InvalidEmbeddingError,
)
from tests.conftest import savepoint

ROAS_TEXT = "Return on ad spend is revenue divided by the money spent on ads."


async def make_document(**overrides: object) -> selectors.Document:
    values: dict[str, object] = {
        "name": "ROAS calculation methods",
        "content": ROAS_TEXT,
        "category": "metrics",
        "tags": ["roas", "finance"],
        "author": "ana",
    }
    values.update(overrides)
    return await services.document_create(**values)  # type: ignore[arg-type]


async def test_create_embeds_the_document_with_the_configured_embedder() -> None:
    # when a document is created
    document = await make_document(metadata={"lang": "en"}, tags=[" roas", "finance", "roas"])
    # then it is version 1, embedded by the offline model, tags cleaned
    assert document.version == 1
    assert document.has_embedding and document.embedding_model == HASHED_MODEL
    assert document.tags == ["roas", "finance"]
    assert document.metadata == {"lang": "en"}
    stored = await selectors.document_embedding_get(document_id=document.id)
    expected = hashed_embedding(services.document_text(name=document.name, content=ROAS_TEXT))
    assert stored is not None
    assert max(abs(a - b) for a, b in zip(stored, expected, strict=True)) < 1e-6


async def test_create_refuses_a_blank_name_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        async with savepoint():
            await make_document(name="   ")
    assert error.value.field == "name"


async def test_content_change_bumps_the_version_and_keeps_the_previous_one() -> None:
    # given a document at version 1
    document = await make_document()
    before = await selectors.document_embedding_get(document_id=document.id)
    # when its content changes twice
    await services.document_update(document_id=document.id, content="ROAS v2", author="bo")
    updated = await services.document_update(document_id=document.id, content="ROAS v3")
    # then it is at version 3 with a new embedding, and versions 1 and 2 are kept
    assert updated.version == 3 and updated.content == "ROAS v3"
    assert await selectors.document_embedding_get(document_id=document.id) != before
    versions = await selectors.document_version_list(document_id=document.id)
    assert [(v.version, v.content, v.is_current) for v in versions] == [
        (3, "ROAS v3", True),
        (2, "ROAS v2", False),
        (1, ROAS_TEXT, False),
    ]
    assert versions[1].author == "bo" and versions[2].author == "ana"
    first = await selectors.document_version_get(document_id=document.id, version=1)
    assert first.content == ROAS_TEXT and first.embedding_model == HASHED_MODEL


async def test_a_change_that_leaves_content_alone_keeps_the_version() -> None:
    # given a document
    document = await make_document()
    # when only its tags, category and metadata change (or the content is set to itself)
    updated = await services.document_update(
        document_id=document.id,
        tags=["attribution"],
        category="analytics",
        metadata={"reviewed": True},
        content=ROAS_TEXT,
    )
    # then no version is made
    assert updated.version == 1
    assert (updated.tags, updated.category, updated.metadata) == (
        ["attribution"],
        "analytics",
        {"reviewed": True},
    )
    assert len(await selectors.document_version_list(document_id=document.id)) == 1


async def test_restoring_a_version_makes_a_new_version() -> None:
    # given a document at version 3
    document = await make_document()
    await services.document_update(document_id=document.id, content="second")
    await services.document_update(document_id=document.id, name="Renamed", content="third")
    # when version 1 is restored
    restored = await services.document_version_restore(document_id=document.id, version=1)
    # then version 4 has version 1's name and content, and the history keeps all four
    assert restored.version == 4
    assert (restored.name, restored.content) == ("ROAS calculation methods", ROAS_TEXT)
    versions = await selectors.document_version_list(document_id=document.id)
    assert [v.version for v in versions] == [4, 3, 2, 1]
    assert versions[1].name == "Renamed" and versions[1].content == "third"
    embedding = await selectors.document_embedding_get(document_id=document.id)
    assert embedding is not None


async def test_unknown_version_and_document_are_typed_errors() -> None:
    document = await make_document()
    with pytest.raises(DocumentVersionNotFoundError) as error:
        await selectors.document_version_get(document_id=document.id, version=7)
    assert error.value.field == "version" and error.value.rule == "exists"
    assert error.value.code == "document_version_not_found"
    with pytest.raises(DocumentNotFoundError) as missing:
        await services.document_update(document_id=uuid.uuid4(), content="x")
    assert missing.value.field == "document_id" and missing.value.code == "document_not_found"
    with pytest.raises(DocumentNotFoundError) as missing:
        await services.document_version_restore(document_id=uuid.uuid4(), version=1)
    assert missing.value.field == "document_id" and missing.value.rule == "exists"


async def test_soft_delete_hides_restore_brings_back_purge_removes() -> None:
    # given two documents, one with a history
    kept = await make_document(name="Kept")
    gone = await make_document(name="Gone")
    await services.document_update(document_id=gone.id, content="second version")
    # when one is soft-deleted
    await services.document_soft_delete(document_id=gone.id)
    # then default reads and updates do not see it; a deleted listing does
    with pytest.raises(DocumentNotFoundError):
        await selectors.document_get(document_id=gone.id)
    with pytest.raises(DocumentNotFoundError):
        await services.document_update(document_id=gone.id, content="x")
    with pytest.raises(DocumentNotFoundError):
        await services.document_soft_delete(document_id=gone.id)
    live = await selectors.document_list()
    assert [d.id for d in live.items] == [kept.id]
    deleted = await selectors.document_list(state="deleted")
    assert [d.id for d in deleted.items] == [gone.id]
    # when it is restored, it is back with its history
    restored = await services.document_restore(document_id=gone.id)
    assert restored.deleted_at is None and restored.version == 2
    assert len(await selectors.document_version_list(document_id=gone.id)) == 2
    with pytest.raises(DocumentNotFoundError):
        await services.document_restore(document_id=gone.id)
    # when deleted again and purged, it and its versions are gone for good
    await services.document_soft_delete(document_id=gone.id)
    assert await services.document_purge(older_than=datetime.timedelta(0)) == 1
    with pytest.raises(DocumentNotFoundError):
        await selectors.document_get(document_id=gone.id, include_deleted=True)
    assert (await selectors.document_get(document_id=kept.id)).name == "Kept"


async def test_document_list_pages_with_a_cursor_and_filters() -> None:
    # given five documents in two categories
    for index in range(5):
        await make_document(
            name=f"Doc {index}", category="metrics" if index % 2 else "creative", tags=[f"t{index}"]
        )
    # when listed two at a time
    first = await selectors.document_list(limit=2)
    second = await selectors.document_list(limit=2, cursor=first.next_cursor)
    third = await selectors.document_list(limit=2, cursor=second.next_cursor)
    # then every document comes exactly once, and the last page has no cursor
    names = [d.name for page in (first, second, third) for d in page.items]
    assert sorted(names) == [f"Doc {i}" for i in range(5)]
    assert third.next_cursor is None
    metrics = await selectors.document_list(category="metrics")
    assert sorted(d.name for d in metrics.items) == ["Doc 1", "Doc 3"]
    tagged = await selectors.document_list(tag="t4")
    assert [d.name for d in tagged.items] == ["Doc 4"]


async def test_an_embedding_from_elsewhere_is_checked_before_it_is_stored() -> None:
    # given a document
    document = await make_document()
    # when a well-formed vector of another model is stored, it is kept with its model name
    vector = [0.0] * 1536
    vector[3] = 2.0
    await services.document_embedding_set(
        document_id=document.id, embedding=vector, model="external-model"
    )
    assert (await selectors.document_get(document_id=document.id)).embedding_model == (
        "external-model"
    )
    # then bad vectors are refused with a typed error naming the rule
    for bad, rule in (
        ([0.1] * 1535, "dimensions"),
        ([float("nan")] * 1536, "finite"),
        ([float("-inf")] + [0.0] * 1535, "finite"),
    ):
        with pytest.raises(InvalidEmbeddingError) as error:
            await services.document_embedding_set(
                document_id=document.id, embedding=bad, model="external-model"
            )
        assert error.value.rule == rule and error.value.field == "embedding"
    with pytest.raises(DocumentNotFoundError):
        await services.document_embedding_set(
            document_id=uuid.uuid4(), embedding=vector, model="external-model"
        )


async def test_the_model_of_each_vector_is_recorded() -> None:
    # given an OpenAI-compatible embedder (its API faked: it lies outside the project)
    from tests.knowledge.test_embedders import FakeEmbeddingsApi, fake_embedder

    remote, _ = fake_embedder(FakeEmbeddingsApi())
    # when one document is embedded by it and another by the offline default
    by_api = await make_document(name="By API", embedder=remote)
    offline = await make_document(name="Offline")
    # then each row names the model that made its vector
    assert by_api.embedding_model == "text-embedding-3-small"
    assert offline.embedding_model == HASHED_MODEL
    # and an update re-embeds with the embedder it is given
    updated = await services.document_update(document_id=offline.id, content="new", embedder=remote)
    assert updated.embedding_model == "text-embedding-3-small" and updated.version == 2
    versions = await selectors.document_version_list(document_id=offline.id)
    assert versions[1].embedding_model == HASHED_MODEL


async def test_concurrent_content_changes_each_keep_a_version() -> None:
    # given a committed document (created outside the test's transaction, removed at the end)
    import asyncio
    import contextvars

    from apps.knowledge.embedders import HashedEmbedder

    class BarrierEmbedder(HashedEmbedder):
        """Holds each caller until both have embedded, so their transactions overlap."""

        def __init__(self) -> None:
            self.waiting = 0
            self.both_ready = asyncio.Event()

        async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
            self.waiting += 1
            if self.waiting == 2:
                self.both_ready.set()
            await self.both_ready.wait()
            return await super()._embed_batch(texts)

    def outside(coroutine: Any) -> asyncio.Task[Any]:
        return asyncio.create_task(coroutine, context=contextvars.Context())

    document = await outside(make_document(name="Concurrent"))
    barrier = BarrierEmbedder()
    try:
        # when two updates of its content enter their transactions at the same moment
        await asyncio.gather(
            *(
                outside(
                    services.document_update(
                        document_id=document.id, content=f"from {who}", embedder=barrier
                    )
                )
                for who in "AB"
            )
        )
        # then the row lock serialised them: version 3, versions 1 and 2 both kept
        versions = await outside(selectors.document_version_list(document_id=document.id))
        assert [v.version for v in versions] == [3, 2, 1]
        assert {versions[0].content, versions[1].content} == {"from A", "from B"}
        assert versions[2].content == ROAS_TEXT
    finally:
        await outside(services.document_soft_delete(document_id=document.id))
        await outside(services.document_purge(older_than=datetime.timedelta(0)))


async def test_versions_are_read_in_one_statement_and_a_missing_document_is_named() -> None:
    from tests.core.statements import count_statements

    # given a document at version 2
    document = await make_document()
    await services.document_update(document_id=document.id, content="second text")
    # when its versions are read
    with count_statements() as listed:
        versions = await selectors.document_version_list(document_id=document.id)
    with count_statements() as got:
        first = await selectors.document_version_get(document_id=document.id, version=1)
    # then one statement each gives the current version (no id) and the stored one
    assert len(listed.sent) == 1 and len(got.sent) == 1
    assert [(v.version, v.is_current, v.id is None) for v in versions] == [
        (2, True, True),
        (1, False, False),
    ]
    assert first.content == ROAS_TEXT and first.document_id == document.id
    # and an unknown document is a DocumentNotFoundError naming document_id
    with pytest.raises(DocumentNotFoundError) as error:
        await selectors.document_version_list(document_id=uuid.uuid4())
    assert (error.value.field, error.value.rule) == ("document_id", "exists")


async def test_a_cursor_belongs_to_its_filters() -> None:
    # given three documents of one category; when the first page of that category is read
    for name in ("One", "Two", "Three"):
        await make_document(name=name, category="cursor-test")
    page = await selectors.document_list(category="cursor-test", limit=2)
    assert len(page.items) == 2 and page.next_cursor is not None
    rest = await selectors.document_list(category="cursor-test", limit=2, cursor=page.next_cursor)
    names = [d.name for d in [*page.items, *rest.items]]
    assert sorted(names) == ["One", "Three", "Two"] and rest.next_cursor is None
    # then its cursor is refused for another filter
    with pytest.raises(ValidationError) as error:
        await selectors.document_list(category="other", limit=2, cursor=page.next_cursor)
    assert error.value.field == "cursor" and error.value.rule == "wrong_list"
