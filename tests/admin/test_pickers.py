"""The forms that take an id let the operator pick the row: the form schemas list choices.

``GET /admin/api/forms/<slug>/schema/`` carries ``extra.choices`` (read at request time) on
the campaign and experiment fields, labelled readably, and on every Enum field.
"""

from __future__ import annotations

import pytest

from apps.adminsite import pickers
from apps.ads import services as ads
from apps.ads.tables import CampaignStatus
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_user
from tests.ads.factories import make_campaign

VARIANTS = [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]


async def test_the_campaign_status_form_lists_campaigns_and_statuses(
    client_for: ClientFactory,
) -> None:
    owner = await make_user()
    spring = await make_campaign(user_id=owner.id, name="Spring")
    summer = await make_campaign(user_id=owner.id, name="Summer")
    await ads.campaign_transition(campaign_id=spring.id, status=CampaignStatus.ACTIVE)
    gone = await make_campaign(name="Gone")
    await ads.campaign_delete(campaign_id=gone.id)
    client = await client_for(admin=True)
    response = await client.get("/admin/api/forms/change-a-campaign's-status/schema/")
    assert response.status_code == 200, response.text
    properties = response.json()["properties"]
    choices = properties["campaign_id"]["extra"]["choices"]
    # live rows only, each labelled with name, status and owner; newest first, then by
    # name (these two were created in one transaction: the same created_at)
    assert [c["display_name"] for c in choices.values()] == [
        f"Spring · ACTIVE · {owner.email} · {spring.id}",
        f"Summer · DRAFT · {owner.email} · {summer.id}",
    ]
    assert choices[str(spring.id)]["value"] == str(spring.id)
    statuses = properties["status"]["extra"]["choices"]
    assert [c["value"] for c in statuses.values()] == [s.value for s in CampaignStatus]
    # and a picked row submits like a pasted id
    picked = await client.post(
        "/admin/api/forms/change-a-campaign's-status/",
        json={"campaign_id": choices[str(summer.id)]["value"], "status": "SCHEDULED"},
        headers=csrf(client),
    )
    assert picked.status_code == 200, picked.text


async def test_the_experiment_forms_list_experiments(client_for: ClientFactory) -> None:
    campaign = await make_campaign(name="Autumn")
    experiment = await ads.experiment_create(
        campaign_id=campaign.id, name="Hooks", variants=VARIANTS
    )
    client = await client_for(admin=True)
    for slug in ("change-an-experiment's-status", "pick-an-experiment's-winner"):
        schema = (await client.get(f"/admin/api/forms/{slug}/schema/")).json()
        choices = schema["properties"]["experiment_id"]["extra"]["choices"]
        assert [c["display_name"] for c in choices.values()] == [
            f"Hooks · DRAFT · campaign Autumn · {experiment.id}"
        ], slug


async def test_a_picker_over_its_limit_asks_for_a_pasted_id(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_campaign(name="One")
    await make_campaign(name="Two")
    monkeypatch.setattr(pickers, "PICKER_LIMIT", 1)
    client = await client_for(admin=True)
    schema = (await client.get("/admin/api/forms/change-a-campaign's-status/schema/")).json()
    field = schema["properties"]["campaign_id"]
    assert "choices" not in field["extra"]
    assert "paste its id" in field["description"]


async def test_form_schemas_stay_behind_the_admin_login(client_for: ClientFactory) -> None:
    await make_campaign(name="Secret plan")
    anonymous = await client_for(admin=None)
    response = await anonymous.get("/admin/api/forms/change-a-campaign's-status/schema/")
    assert response.status_code in (401, 403)
    assert "Secret plan" not in response.text
