"""How many statements the main calls send, pinned (counted, never timed).

Each call runs outside the test's rolled-back transaction, exactly as in production: it
borrows a pooled connection, runs, and gives it back (a reset would show up here as one
more statement). The rows these tests need are committed and deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from apps.ads import services as ads_services
from apps.ads.records import ConversionInput
from apps.ads.tables import ConversionSource
from apps.knowledge import selectors as knowledge_selectors
from apps.media import selectors as media_selectors
from apps.media import services as media_services
from apps.media.services import NewClip
from apps.users import selectors as user_selectors
from apps.users import services as user_services
from tests.core.statements import count_statements, detached, sends


@pytest.fixture
async def committed() -> AsyncIterator[dict[str, uuid.UUID]]:
    """A committed user with an asset of three scored clips (deleted afterwards)."""
    from piccolo_conf import DB

    tag = uuid.uuid4().hex[:10]
    async with detached():
        user = await user_services.user_create(email=f"count-{tag}@example.com", name="Count")
        asset = await media_services.asset_register(
            user_id=user.id,
            filename="c.mp4",
            original_name="c.mp4",
            mime_type="video/mp4",
            file_size=1000,
            gcs_url=f"gs://bench/{tag}.mp4",
        )
        clip_ids = await media_services.clip_bulk_create(
            asset_id=asset.id,
            clips=[NewClip(start_time=i, end_time=i + 2.0, score=0.5 + i / 10) for i in range(3)],
        )
    try:
        yield {"user_id": user.id, "asset_id": asset.id, "clip_id": clip_ids[0]}
    finally:
        async with detached():
            assert DB.pool is not None
            async with DB.pool.acquire() as conn:
                await conn.execute("DELETE FROM conversions WHERE external_id LIKE $1", f"{tag}%")
                await conn.execute(
                    "DELETE FROM conversions WHERE campaign_id IN "
                    "(SELECT id FROM campaigns WHERE user_id = $1)",
                    user.id,
                )
                await conn.execute("DELETE FROM users WHERE id = $1", user.id)


async def test_point_reads_and_single_inserts_send_one_statement(
    committed: dict[str, uuid.UUID],
) -> None:
    user = await user_selectors.user_get(user_id=committed["user_id"])
    async with detached():
        by_email = await sends(lambda: user_selectors.user_get_by_email(email=user.email))
        top = await sends(lambda: media_selectors.clip_list_top(user_id=committed["user_id"]))
        insert = await sends(
            lambda: media_services.prediction_record(
                clip_id=committed["clip_id"], model_version="v1", predicted_roas=2.0
            )
        )
    assert len(by_email) == 1, by_email
    assert len(top) == 1, top
    assert len(insert) == 1, insert


async def test_the_nested_asset_read_sends_three_statements(
    committed: dict[str, uuid.UUID],
) -> None:
    async with detached():
        nested = await sends(
            lambda: media_selectors.asset_get_with_clips(asset_id=committed["asset_id"])
        )
    assert len(nested) == 3, nested


@pytest.mark.parametrize("ef_search", [None, 40, 200])
async def test_a_vector_search_sends_one_statement_whatever_its_ef_search(
    ef_search: int | None,
) -> None:
    embedding = [0.0] * 1535 + [1.0]
    async with detached():
        search = await sends(
            lambda: knowledge_selectors.document_search_vector(
                embedding=embedding, model="count-test", k=5, ef_search=ef_search
            )
        )
    assert len(search) == 1, search


async def test_ingestion_sends_the_same_statements_for_2_or_100_campaigns(
    committed: dict[str, uuid.UUID],
) -> None:
    tag = uuid.uuid4().hex[:10]
    async with detached():
        campaigns = [
            (
                await ads_services.campaign_create(
                    user_id=committed["user_id"], name=f"c{i}", budget=Decimal(100)
                )
            ).id
            for i in range(100)
        ]

        def batch(prefix: str, spread: int) -> list[ConversionInput]:
            return [
                ConversionInput(
                    external_id=f"{prefix}-{i}",
                    value=Decimal("1.50"),
                    campaign_id=campaigns[i % spread],
                )
                for i in range(500)
            ]

        counts = {}
        for spread in (2, 100):
            conversions = batch(f"{tag}{spread}", spread)
            with count_statements() as new:
                result = await ads_services.conversion_ingest_batch(
                    source=ConversionSource.META, conversions=conversions
                )
            assert result.inserted == 500
            with count_statements() as again:
                result = await ads_services.conversion_ingest_batch(
                    source=ConversionSource.META, conversions=conversions
                )
            assert result.inserted == 0 and result.duplicates == 500
            counts[spread] = (len(new), len(again))
    # BEGIN, INSERT, one UPDATE of all touched campaigns, COMMIT; a replay has no UPDATE
    assert counts[2] == counts[100] == (4, 3), counts
    total = await ads_services_total(campaigns)
    assert total == 1000


async def ads_services_total(campaign_ids: list[uuid.UUID]) -> int:
    from apps.ads import selectors

    total = 0
    async with detached():
        for campaign_id in campaign_ids:
            total += (await selectors.campaign_get(campaign_id=campaign_id)).total_conversions
    return total
