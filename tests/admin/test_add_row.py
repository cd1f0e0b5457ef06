"""The admin's "add row" creates campaigns and predictions through their services.

A POST to ``/admin/api/tables/<table>/`` (what the add-row form sends) goes through
``campaign_create`` / ``prediction_record``: the service's defaults apply, a bad value is
refused on the field in the service's words, and the create is audited in its transaction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from apps.ads.tables import Campaign
from apps.audit.selectors import audit_entry_list_for_row
from apps.audit.tables import AuditEntry
from apps.media.tables import Clip, Prediction
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_asset, make_clips, make_user


async def post(client: httpx.AsyncClient, table: str, data: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/admin/api/tables/{table}/", json=data, headers=csrf(client))


def field_error(response: httpx.Response) -> tuple[str, str]:
    # 404 for a parent that does not exist, 422 for a bad value; both shown on the field
    assert response.status_code in (404, 422), response.text
    assert "violates" not in response.text and "asyncpg" not in response.text
    detail = response.json()["detail"][0]
    return detail["loc"][-1], detail["msg"]


async def test_add_row_creates_a_draft_campaign_through_the_service(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True)
    owner = await make_user()
    # what the add-row form sends: every field, read-only ones at their defaults
    new = (await client.get("/admin/api/tables/campaigns/new/")).json()
    body = {**new, "user": str(owner.id), "name": "  Autumn  ", "budget": "250.50"}
    response = await post(client, "campaigns", body)
    assert response.status_code == 201, response.text
    campaign_id = uuid.UUID(response.json()[0]["id"])
    row = await Campaign.select().where(Campaign.id == campaign_id).first()
    assert row is not None
    assert (row["user_id"], row["name"], row["budget"], row["status"], row["total_spend"]) == (
        owner.id,
        "Autumn",
        Decimal("250.50"),
        "DRAFT",
        Decimal("0"),
    )
    (entry,) = await audit_entry_list_for_row(table_name="campaigns", row_id=campaign_id)
    assert entry["action"] == "CREATE"
    assert entry["changes"]["name"] == {"old": None, "new": "Autumn"}


async def test_add_row_campaign_refusals_are_the_services_on_the_field(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True)
    owner = await make_user()
    valid = {"user": str(owner.id), "name": "Autumn", "budget": "100"}
    cases = [
        ({**valid, "budget": "-1"}, "budget", "budget"),
        ({**valid, "name": "   "}, "name", "name"),
        ({**valid, "status": "ACTIVE"}, "status", "read only here"),
        ({**valid, "total_spend": "9"}, "total_spend", "read only here"),
        ({**valid, "user": str(uuid.uuid4())}, "user", "not found"),
    ]
    for body, field, says in cases:
        name, message = field_error(await post(client, "campaigns", body))
        assert name == field, (body, message)
        assert says in message, (body, message)
    assert await Campaign.count() == 0
    assert await AuditEntry.count().where(AuditEntry.table_name == "campaigns") == 0


async def test_add_row_records_a_prediction_through_the_service(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True)
    asset = await make_asset(await make_user())
    await make_clips(asset, 1)
    clip_id = await Clip.select(Clip.id).where(Clip.asset == asset.id).first()
    assert clip_id is not None
    body = {"clip": str(clip_id["id"]), "model_version": "v7", "predicted_roas": 3.5}
    response = await post(client, "predictions", body)
    assert response.status_code == 201, response.text
    prediction_id = uuid.UUID(response.json()[0]["id"])
    row = await Prediction.select().where(Prediction.id == prediction_id).first()
    assert row is not None
    assert (row["clip_id"], row["model_version"], row["predicted_roas"], row["actual_roas"]) == (
        clip_id["id"],
        "v7",
        3.5,
        None,
    )
    (entry,) = await audit_entry_list_for_row(table_name="predictions", row_id=prediction_id)
    assert entry["action"] == "CREATE"


async def test_add_row_prediction_refusals_are_the_services_on_the_field(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True)
    asset = await make_asset(await make_user())
    await make_clips(asset, 1)
    clip = await Clip.select(Clip.id).where(Clip.asset == asset.id).first()
    assert clip is not None
    valid = {"clip": str(clip["id"]), "model_version": "v7", "predicted_roas": 3.5}
    cases = [
        ({**valid, "predicted_roas": None}, "predicted_roas", "at least one"),
        ({**valid, "confidence": 2}, "confidence", "confidence"),
        ({**valid, "actual_roas": 4.0}, "actual_roas", "read only here"),
        ({**valid, "prediction_error": 0.5}, "prediction_error", "read only here"),
        ({**valid, "clip": str(uuid.uuid4())}, "clip", "not found"),
    ]
    for body, field, says in cases:
        name, message = field_error(await post(client, "predictions", body))
        assert name == field, (body, message)
        assert says in message, (body, message)
    assert await Prediction.count() == 0


async def test_the_add_form_disables_what_a_create_cannot_set(client_for: ClientFactory) -> None:
    client = await client_for(admin=True)
    schema = (await client.get("/admin/api/tables/campaigns/schema/")).json()
    add_read_only = set(schema["extra"]["add_read_only_columns"])
    assert {"status", "total_spend", "total_conversions", "created_at"} <= add_read_only
    assert not {"user", "name", "budget"} & add_read_only
    assert "user" in schema["extra"]["read_only_columns"]  # set once, at creation
    schema = (await client.get("/admin/api/tables/predictions/schema/")).json()
    add_read_only = set(schema["extra"]["add_read_only_columns"])
    assert {"actual_roas", "prediction_error"} <= add_read_only
    assert not {"clip", "model_version", "predicted_roas"} & add_read_only
