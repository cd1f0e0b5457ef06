"""Deleting from the admin soft-deletes; deleted rows hide until asked for; restore; purge."""

from __future__ import annotations

from apps.audit.selectors import audit_entry_list_for_row
from apps.media.tables import Clip
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_asset, make_clips, make_user


async def test_delete_soft_deletes_and_hides_the_row_until_a_filter_asks(
    client_for: ClientFactory,
) -> None:
    # given two clips of an asset
    asset = await make_asset(await make_user())
    kept, deleted = await make_clips(asset, 2)
    client = await client_for(admin=True)
    # when one is deleted from the admin
    response = await client.delete(f"/admin/api/tables/clips/{deleted.id}/", headers=csrf(client))
    assert response.status_code == 204
    # then the row is still there, with deleted_at set
    row = await Clip.select(Clip.deleted_at).where(Clip.id == deleted.id).first()
    assert row is not None
    assert row["deleted_at"] is not None
    # and the list and the count show only the live one
    listing = await client.get(f"/admin/api/tables/clips/?asset={asset.id}")
    assert [r["id"] for r in listing.json()["rows"]] == [str(kept.id)]
    count = await client.get(f"/admin/api/tables/clips/count/?asset={asset.id}")
    assert count.json()["count"] == 1
    # unless the filter asks for deleted rows
    asked = await client.get(
        f"/admin/api/tables/clips/?asset={asset.id}&deleted_at__operator=not_null"
    )
    assert [r["id"] for r in asked.json()["rows"]] == [str(deleted.id)]
    # and the deletion is in the audit log
    (entry,) = await audit_entry_list_for_row(table_name="clips", row_id=deleted.id)
    assert entry["action"] == "SOFT_DELETE"
    assert entry["changes"]["deleted_at"]["old"] is None


async def test_the_restore_form_brings_a_deleted_row_back(client_for: ClientFactory) -> None:
    asset = await make_asset(await make_user())
    (clip,) = await make_clips(asset, 1)
    client = await client_for(admin=True)
    await client.delete(f"/admin/api/tables/clips/{clip.id}/", headers=csrf(client))
    # when the restore form is submitted
    response = await client.post(
        "/admin/api/forms/restore-a-deleted-row/",
        json={"table": "clips", "row_id": str(clip.id)},
        headers=csrf(client),
    )
    # then the clip is live again, listed, and the restore is audited
    assert response.status_code == 200, response.text
    listing = await client.get(f"/admin/api/tables/clips/?asset={asset.id}")
    assert [r["id"] for r in listing.json()["rows"]] == [str(clip.id)]
    entries = await audit_entry_list_for_row(table_name="clips", row_id=clip.id)
    assert [e["action"] for e in entries] == ["RESTORE", "SOFT_DELETE"]
    # restoring a live row is refused with a clear message
    again = await client.post(
        "/admin/api/forms/restore-a-deleted-row/",
        json={"table": "clips", "row_id": str(clip.id)},
        headers=csrf(client),
    )
    assert again.status_code == 422
    assert "no deleted clips" in again.json()["custom_form_error"]


async def test_only_a_superuser_purges_and_only_deleted_rows(client_for: ClientFactory) -> None:
    asset = await make_asset(await make_user())
    live, deleted = await make_clips(asset, 2)
    admin = await client_for(admin=True)
    await admin.delete(f"/admin/api/tables/clips/{deleted.id}/", headers=csrf(admin))
    form = "/admin/api/forms/purge-a-deleted-row/"
    # an admin who is not a superuser is refused
    refused = await admin.post(
        form,
        json={"table": "clips", "row_id": str(deleted.id), "confirm": True},
        headers=csrf(admin),
    )
    assert refused.status_code == 422
    assert "superuser" in refused.json()["custom_form_error"]
    superuser = await client_for(admin=True, superuser=True)
    # a live row cannot be purged: delete it first
    live_refused = await superuser.post(
        form,
        json={"table": "clips", "row_id": str(live.id), "confirm": True},
        headers=csrf(superuser),
    )
    assert live_refused.status_code == 422
    assert await Clip.exists().where(Clip.id == live.id)
    # a soft-deleted row is purged for good, with its last values in the audit log
    purged = await superuser.post(
        form,
        json={"table": "clips", "row_id": str(deleted.id), "confirm": True},
        headers=csrf(superuser),
    )
    assert purged.status_code == 200, purged.text
    assert not await Clip.exists().where(Clip.id == deleted.id)
    entries = await audit_entry_list_for_row(table_name="clips", row_id=deleted.id)
    assert entries[0]["action"] == "PURGE"
    assert entries[0]["changes"]["rank"] == {"old": 2, "new": None}
