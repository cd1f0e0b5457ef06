"""Decimals, big integers, JSON and arrays survive the admin's list, detail and edit."""

from __future__ import annotations

from decimal import Decimal

from apps.ads.tables import Campaign
from apps.knowledge.tables import KnowledgeDocument
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_user


async def test_money_counters_and_json_round_trip(client_for: ClientFactory) -> None:
    # given a campaign with money, a counter past 2^31 and JSON targeting
    user = await make_user()
    campaign = Campaign(
        user=user.id,
        name="Spring",
        budget=Decimal("5000.00"),
        total_impressions=3_000_000_000,
        target_locations=["US", "CA"],
        target_age_range={"min": 25, "max": 45},
    )
    await campaign.save()
    client = await client_for(admin=True)
    # when it is read
    row = (await client.get(f"/admin/api/tables/campaigns/{campaign.id}/")).json()
    # then the values are exact
    assert Decimal(str(row["budget"])) == Decimal("5000.00")
    assert row["total_impressions"] == 3_000_000_000
    # when the form saves new values (the UI sends JSON columns as text)
    response = await client.patch(
        f"/admin/api/tables/campaigns/{campaign.id}/",
        json={
            "budget": "1234.56",
            "target_locations": '["US", "UK"]',
        },
        headers=csrf(client),
    )
    assert response.status_code == 200, response.text
    stored = (
        await Campaign.select(
            Campaign.budget, Campaign.total_impressions, Campaign.target_locations
        )
        .where(Campaign.id == campaign.id)
        .first()
        .output(load_json=True)
    )
    assert stored == {
        "budget": Decimal("1234.56"),
        "total_impressions": 3_000_000_000,
        "target_locations": ["US", "UK"],
    }


async def test_arrays_are_edited_and_filtered(client_for: ClientFactory) -> None:
    document = KnowledgeDocument(name="Guide", content="<p>x</p>", category="ads", tags=["meta"])
    await document.save()
    client = await client_for(admin=True)
    response = await client.patch(
        f"/admin/api/tables/knowledge_documents/{document.id}/",
        json={"tags": ["meta", "roas"]},
        headers=csrf(client),
    )
    assert response.status_code == 200, response.text
    listing = await client.get("/admin/api/tables/knowledge_documents/?tags=roas")
    assert [row["tags"] for row in listing.json()["rows"]] == [["meta", "roas"]]
