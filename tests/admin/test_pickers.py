"""The forms that take an id let the operator pick the row: the form schemas list choices.

``GET /admin/api/forms/<slug>/schema/`` carries ``extra.choices`` (read at request time) on
the campaign and experiment fields, labelled readably, and on every Enum field.
"""

from __future__ import annotations

import datetime

import pytest

from apps.adminsite import pickers
from apps.ads import services as ads
from apps.ads.tables import CampaignStatus
from apps.audit.selectors import audit_entry_list_for_row
from apps.media import services as media
from apps.media.tables import Asset, Prediction
from apps.users.tables import ApiKey, User
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_asset, make_clips, make_user
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
    await ads.campaign_soft_delete(campaign_id=gone.id)
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


async def test_a_picker_over_its_limit_lists_the_newest_and_takes_a_pasted_id(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_user()
    first = await make_campaign(user_id=owner.id, name="Aaa first")
    second = await make_campaign(user_id=owner.id, name="Bbb second")
    monkeypatch.setattr(pickers, "PICKER_LIMIT", 1)
    client = await client_for(admin=True)
    schema = (await client.get("/admin/api/forms/change-a-campaign's-status/schema/")).json()
    field = schema["properties"]["campaign_id"]
    # the list is capped: the newest row only, and it says there are more
    assert list(field["extra"]["choices"]) == [str(first.id)]
    assert field["extra"]["more_rows"] is True
    assert "paste its id" in field["description"]
    # and an id that is not listed is taken, pasted
    pasted = await client.post(
        "/admin/api/forms/change-a-campaign's-status/",
        json={"campaign_id": str(second.id), "status": "SCHEDULED"},
        headers=csrf(client),
    )
    assert pasted.status_code == 200, pasted.text


async def test_form_schemas_stay_behind_the_admin_login(client_for: ClientFactory) -> None:
    await make_campaign(name="Secret plan")
    anonymous = await client_for(admin=None)
    response = await anonymous.get("/admin/api/forms/change-a-campaign's-status/schema/")
    assert response.status_code in (401, 403)
    assert "Secret plan" not in response.text


async def choices_of(client: object, slug: str, field: str) -> dict[str, dict[str, object]]:
    response = await client.get(f"/admin/api/forms/{slug}/schema/")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    extra = response.json()["properties"][field]["extra"]
    assert extra["more_rows"] is False
    choices: dict[str, dict[str, object]] = extra["choices"]
    return choices


async def test_the_asset_status_form_lists_live_assets_with_their_owner(
    client_for: ClientFactory,
) -> None:
    owner = await make_user(email="asset-owner@example.com")
    asset = await make_asset(owner)
    gone_owner = await make_user()
    hidden = await make_asset(gone_owner)
    await User.update({User.deleted_at: datetime.datetime.now(datetime.UTC)}).where(
        User.id == gone_owner.id
    )
    client = await client_for(admin=True)
    slug = "change-an-asset's-status"
    choices = await choices_of(client, slug, "asset_id")
    # the asset of a deleted owner is not offered; the live one is, readably, at the top
    assert str(hidden.id) not in choices
    top = next(iter(choices.values()))
    assert top == {
        "display_name": f"{asset.original_name} · READY · asset-owner@example.com · {asset.id}",
        "value": str(asset.id),
    }
    # and picking it moves the asset along its state machine
    picked = await client.post(
        f"/admin/api/forms/{slug}/",
        json={"asset_id": top["value"], "status": "ARCHIVED"},
        headers=csrf(client),
    )
    assert picked.status_code == 200, picked.text
    assert await Asset.select(Asset.status).where(Asset.id == asset.id).first() == {
        "status": "ARCHIVED"
    }


async def test_the_actuals_form_lists_predictions_without_actuals(
    client_for: ClientFactory,
) -> None:
    owner = await make_user(email="forecaster@example.com")
    asset = await make_asset(owner)
    clip, other = await make_clips(asset, 2)
    open_one = await media.prediction_record(
        clip_id=clip.id, model_version="m-open", predicted_roas=3.5
    )
    done = await media.prediction_record(
        clip_id=other.id, model_version="m-done", predicted_roas=2.0
    )
    await media.prediction_fill_actuals(prediction_id=done.id, actual_roas=2.5)
    client = await client_for(admin=True)
    slug = "record-a-prediction's-actual-figures"
    choices = await choices_of(client, slug, "prediction_id")
    # a prediction that already has its actual figures is not offered
    assert str(done.id) not in choices
    assert choices[str(open_one.id)]["display_name"] == (
        f"{asset.original_name} · clip #1 · m-open · predicted ROAS 3.5 · "
        f"forecaster@example.com · {open_one.id}"
    )
    picked = await client.post(
        f"/admin/api/forms/{slug}/",
        json={"prediction_id": str(open_one.id), "actual_roas": 3.0},
        headers=csrf(client),
    )
    assert picked.status_code == 200, picked.text
    row = await Prediction.select(Prediction.prediction_error).where(Prediction.id == open_one.id)
    assert row == [{"prediction_error": 0.5}]
    # once filled, it leaves the list
    assert str(open_one.id) not in await choices_of(client, slug, "prediction_id")


async def test_the_api_key_form_lists_live_users(client_for: ClientFactory) -> None:
    owner = await make_user(email="key-owner@example.com")
    client = await client_for(admin=True)
    slug = "issue-an-api-key"
    choices = await choices_of(client, slug, "user_id")
    assert choices[str(owner.id)]["display_name"] == (
        f"key-owner@example.com · Test user · {owner.id}"
    )
    picked = await client.post(
        f"/admin/api/forms/{slug}/",
        json={"user_id": str(owner.id), "name": "CI"},
        headers=csrf(client),
    )
    assert picked.status_code == 200, picked.text
    assert await ApiKey.count().where(ApiKey.user == owner.id) == 1


async def test_restore_and_purge_list_deleted_rows_and_find_their_table(
    client_for: ClientFactory,
) -> None:
    owner = await make_user(email="deleted-rows@example.com")
    asset = await make_asset(owner)
    kept, gone = await make_clips(asset, 2)
    superuser = await client_for(admin=True, superuser=True)
    for row in (f"assets/{asset.id}", f"clips/{gone.id}"):
        deleted = await superuser.delete(f"/admin/api/tables/{row}/", headers=csrf(superuser))
        assert deleted.status_code == 204, deleted.text
    for slug in ("restore-a-deleted-row", "purge-a-deleted-row"):
        choices = await choices_of(superuser, slug, "row_id")
        # soft-deleted rows of every table, labelled with their table; live rows are not
        assert str(kept.id) not in choices
        asset_label = str(choices[str(asset.id)]["display_name"])
        assert asset_label.startswith(f"assets · {asset.original_name} · deleted-rows@example")
        assert str(choices[str(gone.id)]["display_name"]).startswith(
            f"clips · clip #2 of {asset.original_name} · deleted "
        )
    # the picked row is restored without naming its table
    restored = await superuser.post(
        "/admin/api/forms/restore-a-deleted-row/",
        json={"row_id": str(asset.id)},
        headers=csrf(superuser),
    )
    assert restored.status_code == 200, restored.text
    assert "Restored assets" in restored.text
    assert await Asset.count().where((Asset.id == asset.id) & Asset.deleted_at.is_null()) == 1
    # and purged likewise
    purged = await superuser.post(
        "/admin/api/forms/purge-a-deleted-row/",
        json={"row_id": str(gone.id), "table": "", "confirm": True},  # an untouched select
        headers=csrf(superuser),
    )
    assert purged.status_code == 200, purged.text
    entries = await audit_entry_list_for_row(table_name="clips", row_id=gone.id)
    assert entries[0]["action"] == "PURGE"
    # a live row's id is refused with a message naming the field's rule
    refused = await superuser.post(
        "/admin/api/forms/restore-a-deleted-row/",
        json={"row_id": str(kept.id)},
        headers=csrf(superuser),
    )
    assert refused.status_code == 422
    assert f"no soft-deleted row has the id {kept.id}" in refused.json()["custom_form_error"]
