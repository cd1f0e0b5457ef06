"""Search: vector, full text and hybrid, on a small corpus written for these tests."""

from __future__ import annotations

import pytest

from apps.knowledge import selectors, services
from apps.knowledge.embedders import hashed_embedding
from apps.knowledge.errors import InvalidEmbeddingError, InvalidQueryError
from tests.helpers import connection

CORPUS = {
    "roas": (
        "ROAS calculation methods",
        "metrics",
        ["roas", "finance"],
        "Return on ad spend (ROAS) is the revenue a campaign earns divided by what it spent "
        "on ads. A ROAS of 4 means four dollars of revenue for each dollar of spend. Compare "
        "ROAS between campaigns only with the same attribution window.",
    ),
    "video": (
        "Video ad best practices",
        "creative",
        ["video", "creative"],
        "Hook viewers in the first three seconds, show the brand early, add captions because "
        "most feeds play video muted, and end with a clear call to action.",
    ),
    "meta": (
        "Meta ads optimisation guide",
        "platforms",
        ["meta", "bidding"],
        "Use broad targeting with Advantage+ audiences, let the algorithm leave the learning "
        "phase before changing budgets, and test creatives in separate ad sets.",
    ),
    "tiktok": (
        "TikTok creative guidelines",
        "creative",
        ["tiktok", "video"],
        "Vertical 9:16 footage, native-looking content, trending sounds and creators speaking "
        "to the camera perform best on TikTok.",
    ),
    "retention": (
        "Data retention policy",
        "compliance",
        ["privacy"],
        "Personal data of users is deleted thirty days after account closure; backups are "
        "encrypted and kept for ninety days.",
    ),
    "ctr": (
        "Click-through rate benchmarks",
        "metrics",
        ["ctr"],
        "CTR is clicks divided by impressions. Feed placements average around one percent; "
        "a falling CTR on a steady audience is the first sign of creative fatigue.",
    ),
}


async def load_corpus() -> dict[str, selectors.Document]:
    documents = {}
    for key, (name, category, tags, content) in CORPUS.items():
        documents[key] = await services.document_create(
            name=name, category=category, tags=tags, content=content
        )
    return documents


def keys(hits: list[selectors.SearchHit], documents: dict[str, selectors.Document]) -> list[str]:
    by_id = {document.id: key for key, document in documents.items()}
    return [by_id[hit.document.id] for hit in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how do I calculate ROAS", "roas"),
        ("return on ad spend of my campaigns", "roas"),
        ("should videos have captions when muted", "video"),
        ("when can I change the budget during the learning phase", "meta"),
        ("how long do we keep personal data after an account is closed", "retention"),
        ("vertical videos with trending sounds", "tiktok"),
        ("clicks per impression benchmark", "ctr"),
    ],
)
async def test_vector_search_finds_the_document_about_the_question(
    query: str, expected: str
) -> None:
    # given the corpus
    documents = await load_corpus()
    # when a question is asked
    hits = await selectors.document_search_vector(query=query, k=3)
    # then the document about it comes first, with scores that decrease
    assert keys(hits, documents)[0] == expected
    assert [hit.vector_position for hit in hits] == [1, 2, 3]
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(hit.distance == pytest.approx(1 - hit.score) for hit in hits)
    assert hits[0].score > hits[1].score + 0.05


async def test_vector_search_filters_on_category_and_tags() -> None:
    documents = await load_corpus()
    # a ROAS question restricted to creative documents finds only creative ones
    creative = await selectors.document_search_vector(
        query="how do I calculate ROAS", k=10, category="creative"
    )
    assert sorted(keys(creative, documents)) == ["tiktok", "video"]
    # all given tags must be present
    tagged = await selectors.document_search_vector(query="video", k=10, tags=["video", "creative"])
    assert keys(tagged, documents) == ["video"]


async def test_vector_search_takes_a_ready_embedding_and_checks_it() -> None:
    documents = await load_corpus()
    embedding = hashed_embedding("ROAS revenue per dollar of ad spend")
    hits = await selectors.document_search_vector(embedding=embedding, k=1)
    assert keys(hits, documents) == ["roas"]
    with pytest.raises(InvalidEmbeddingError):
        await selectors.document_search_vector(embedding=[0.5] * 12)
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_vector(query="roas", embedding=embedding)
    assert (error.value.field, error.value.rule) == ("query", "exactly_one")
    assert error.value.code == "invalid_query"
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_vector(query="   ")
    assert (error.value.field, error.value.rule) == ("query", "not_blank")
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_vector(query="roas", k=0)
    assert error.value.field == "k"
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_vector(query="roas", ef_search=5000)
    assert error.value.field == "ef_search"


async def test_vector_search_compares_only_vectors_of_the_same_model() -> None:
    # given the corpus, where the ROAS document got a vector from another model
    documents = await load_corpus()
    other = hashed_embedding("ROAS calculation methods")
    await services.document_embedding_set(
        document_id=documents["roas"].id, embedding=other, model="another-model"
    )
    # then a search with the offline model does not compare against it
    hits = await selectors.document_search_vector(query="how do I calculate ROAS", k=10)
    assert "roas" not in keys(hits, documents)
    assert len(hits) == len(CORPUS) - 1


async def test_soft_deleted_documents_are_left_out_without_losing_results() -> None:
    # given the corpus with the ROAS document soft-deleted
    documents = await load_corpus()
    await services.document_soft_delete(document_id=documents["roas"].id)
    # when searching for k = 5 (all the live documents)
    vector = await selectors.document_search_vector(query="how do I calculate ROAS", k=5)
    text = await selectors.document_search_text(query="ROAS OR CTR")
    hybrid = await selectors.document_search_hybrid(query="ROAS calculation", k=5)
    # then the deleted one is never returned and the other five all are
    assert sorted(keys(vector, documents)) == sorted(set(CORPUS) - {"roas"})
    assert keys(text, documents) == ["ctr"]
    assert "roas" not in keys(hybrid, documents) and len(hybrid) == 5


async def test_ef_search_is_local_to_the_search_transaction() -> None:
    # given the corpus
    documents = await load_corpus()
    # when searching with a small and a large ef_search
    small = await selectors.document_search_vector(query="ROAS", k=6, ef_search=1)
    large = await selectors.document_search_vector(query="ROAS", k=6, ef_search=400)
    # then both return the k documents (the iterative scan tops up a small list)
    assert len(small) == len(large) == 6
    assert keys(large, documents)[0] == "roas"


async def test_the_vector_query_is_served_by_the_hnsw_index() -> None:
    # given the corpus (so small that the planner rightly prefers an exact scan by default)
    await load_corpus()
    # when sequential scans are priced out, the search's query shape uses the HNSW index
    conn = connection()
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(
        row[0]
        for row in await conn.fetch(
            "EXPLAIN SELECT id FROM knowledge_documents d "
            "WHERE d.deleted_at IS NULL AND d.embedding IS NOT NULL AND d.embedding_model = $2 "
            "ORDER BY d.embedding <=> $1 LIMIT 10",
            hashed_embedding("roas"),
            "m",
        )
    )
    await conn.execute("RESET enable_seqscan")
    assert "knowledge_documents_embedding_hnsw" in plan


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ROAS", "roas"),
        ('"return on ad spend"', "roas"),
        ("captions -tiktok", "video"),
        ("personal data backups", "retention"),
        ("creative fatigue", "ctr"),
    ],
)
async def test_text_search_ranks_and_highlights(query: str, expected: str) -> None:
    documents = await load_corpus()
    hits = await selectors.document_search_text(query=query)
    assert keys(hits, documents)[0] == expected
    assert 0 < hits[0].score < 1 and hits[0].text_rank == hits[0].score
    assert hits[0].snippet is not None and "<mark>" in hits[0].snippet
    assert hits[0].text_position == 1


async def test_text_search_weights_the_name_above_the_content() -> None:
    # "creative" is in the name of the TikTok document, in the content of others
    documents = await load_corpus()
    hits = await selectors.document_search_text(query="creative")
    assert keys(hits, documents)[0] == "tiktok"
    assert set(keys(hits, documents)) == {"tiktok", "meta", "ctr"}


async def test_text_search_understands_or_and_filters() -> None:
    documents = await load_corpus()
    hits = await selectors.document_search_text(query="ROAS or CTR", category="metrics")
    assert sorted(keys(hits, documents)) == ["ctr", "roas"]
    assert await selectors.document_search_text(query="ROAS", tags=["privacy"]) == []
    assert await selectors.document_search_text(query="the of and") == []
    # every word must match by default; match="any" ranks documents matching some of them
    assert await selectors.document_search_text(query="ROAS captions") == []
    some = await selectors.document_search_text(query="ROAS captions", match="any")
    assert sorted(keys(some, documents)) == ["roas", "video"]
    with pytest.raises(InvalidQueryError):
        await selectors.document_search_text(query="")


async def test_hybrid_search_fuses_both_rankings_with_scores() -> None:
    # given the corpus
    documents = await load_corpus()
    # when a question mixes words of the ROAS and the CTR documents
    hits = await selectors.document_search_hybrid(query="ROAS and CTR of campaigns", k=4)
    # then the documents both sides found come first, each hit with every score
    top = keys(hits, documents)
    assert set(top[:2]) == {"roas", "ctr"}
    first = hits[0]
    assert first.vector_position is not None and first.text_position is not None
    assert first.distance is not None and first.text_rank is not None
    expected = 1 / (60 + first.vector_position) + 1 / (60 + first.text_position)
    assert first.score == pytest.approx(expected)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


async def test_hybrid_weights_choose_which_side_leads() -> None:
    # given a query whose words match the CTR document, but whose meaning is near ROAS
    documents = await load_corpus()
    query = "revenue per dollar of spend, benchmark against impressions"
    text_only = await selectors.document_search_text(query=query, match="any")
    vector_only = await selectors.document_search_vector(query=query, k=1)
    # when all the weight goes to one side, that side's ranking is the result
    by_text = await selectors.document_search_hybrid(
        query=query, k=1, vector_weight=0.0, text_weight=1.0
    )
    by_vector = await selectors.document_search_hybrid(
        query=query, k=1, vector_weight=1.0, text_weight=0.0
    )
    assert keys(by_text, documents) == keys(text_only, documents)[:1]
    assert keys(by_vector, documents) == keys(vector_only, documents)
    with pytest.raises(InvalidQueryError):
        await selectors.document_search_hybrid(query=query, vector_weight=0, text_weight=0)
    with pytest.raises(InvalidQueryError):
        await selectors.document_search_hybrid(query=query, vector_weight=-1)


async def test_search_finds_nothing_in_an_empty_base() -> None:
    assert await selectors.document_search_vector(query="ROAS") == []
    assert await selectors.document_search_hybrid(query="ROAS") == []


async def test_hybrid_text_side_can_require_every_word() -> None:
    # given the corpus and a question whose words are spread over two documents
    documents = await load_corpus()
    query = "ROAS captions"
    # when the text side must match every word, no document matches it: only the vector
    # side contributes; when any word may match, both documents get a text position
    strict = await selectors.document_search_hybrid(query=query, k=6, text_match="all")
    loose = await selectors.document_search_hybrid(query=query, k=6, text_match="any")
    assert all(hit.text_position is None for hit in strict)
    assert len(strict) == len(CORPUS)
    with_text = {
        key for key, hit in zip(keys(loose, documents), loose, strict=True) if hit.text_position
    }
    assert with_text == {"roas", "video"}
    assert set(keys(loose, documents)[:2]) == {"roas", "video"}
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_text(query=query, match="some")  # type: ignore[arg-type]
    assert error.value.field == "match"


async def test_search_settings_are_set_local_to_the_transaction() -> None:
    # given the corpus; this test runs inside a transaction, which the search joins
    await load_corpus()
    # when a search asks for ef_search 123
    await selectors.document_search_vector(query="ROAS", k=2, ef_search=123)
    # then the settings were applied with SET LOCAL semantics in that transaction
    conn = connection()
    assert await conn.fetchval("SELECT current_setting('hnsw.ef_search')") == "123"
    assert await conn.fetchval("SELECT current_setting('hnsw.iterative_scan')") == ("relaxed_order")


async def test_the_search_statement_orders_by_the_alias_and_uses_the_hnsw_index() -> None:
    # given the corpus, and sequential scans priced out (the corpus is tiny)
    from pgvector import Vector

    from apps.knowledge.embedders.hashed import MODEL as HASHED_MODEL
    from tests.core.statements import count_statements

    await load_corpus()
    conn = connection()
    await conn.execute("SET LOCAL enable_seqscan = off")
    # when the service's own statement is captured and explained
    with count_statements() as statements:
        await selectors.document_search_vector(query="ROAS", k=3, ef_search=77)
    assert len(statements) == 1, statements
    sql = statements.sent[0]
    plan = "\n".join(
        row[0]
        for row in await conn.fetch(
            f"EXPLAIN (VERBOSE) {sql}", "77", Vector(hashed_embedding("roas")), HASHED_MODEL, 3
        )
    )
    await conn.execute("RESET enable_seqscan")
    # then the distance is computed once per row (ORDER BY the alias) and the index serves it
    assert "ORDER BY distance LIMIT" in sql and sql.count("<=>") == 1
    assert "knowledge_documents_embedding_hnsw" in plan, plan


async def test_hybrid_refuses_two_zero_weights_and_names_the_rules() -> None:
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_hybrid(query="roas", vector_weight=0, text_weight=0)
    assert (error.value.field, error.value.rule) == ("vector_weight", "at_least_one")
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_hybrid(query="roas", text_weight=101)
    assert (error.value.field, error.value.rule) == ("text_weight", "range")
    with pytest.raises(InvalidQueryError) as error:
        await selectors.document_search_hybrid(query="roas", text_match="some")  # type: ignore[arg-type]
    assert (error.value.field, error.value.rule) == ("text_match", "one_of")


async def test_a_hit_is_a_row_carrying_its_document_and_scores() -> None:
    # given the corpus; when a vector and a text search run
    documents = await load_corpus()
    vector_hits = await selectors.document_search_vector(query="ROAS", k=2)
    text_hits = await selectors.document_search_text(query="ROAS", k=2)
    # then each hit reads as its document, with the scores its search made and no others
    first = vector_hits[0]
    assert first.document.id == first.id and first.document.metadata == first.metadata
    assert [hit.vector_position for hit in vector_hits] == [1, 2]
    assert first.text_rank is None and first.text_position is None and first.snippet is None
    assert text_hits[0].distance is None and text_hits[0].vector_position is None
    assert [hit.text_position for hit in text_hits] == list(range(1, len(text_hits) + 1))
    assert keys(text_hits, documents)[0] == "roas"
