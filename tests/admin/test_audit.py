"""Every create, update and delete through the admin lands in the read-only audit log."""

from __future__ import annotations

from apps.audit.selectors import audit_entry_list_for_row
from apps.media.tables import Clip
from apps.users.tables import User
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_asset, make_clips, make_user


async def test_create_update_delete_are_recorded_with_who_and_what(
    client_for: ClientFactory,
) -> None:
    # given an admin
    client = await client_for(admin=True)
    me = (await client.get("/admin/api/user/")).json()
    # when the admin creates a user (through the users service), edits it and deletes it
    new = (await client.get("/admin/api/tables/users/new/")).json()
    created = await client.post(
        "/admin/api/tables/users/",
        json={**new, "email": " New.Person@Example.COM ", "name": "New person"},
        headers=csrf(client),
    )
    assert created.status_code == 201, created.text
    user_id = created.json()[0]["id"]
    patched = await client.patch(
        f"/admin/api/tables/users/{user_id}/", json={"name": "Renamed"}, headers=csrf(client)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed"
    deleted = await client.delete(f"/admin/api/tables/users/{user_id}/", headers=csrf(client))
    assert deleted.status_code == 204
    # then three entries, newest first, name the admin, the table, the row and the fields
    entries = await audit_entry_list_for_row(table_name="users", row_id=user_id)
    assert [e["action"] for e in entries] == ["SOFT_DELETE", "UPDATE", "CREATE"]
    assert {e["actor_username"] for e in entries} == {me["username"]}
    assert {e["actor_id"] for e in entries} == {int(me["user_id"])}
    delete, update, create = (e["changes"] for e in entries)
    assert update == {"name": {"old": "New person", "new": "Renamed"}}
    # the service normalised the email before it was stored and recorded
    assert create["email"] == {"old": None, "new": "new.person@example.com"}
    assert create["settings"] == {"old": None, "new": {}}
    assert delete["deleted_at"]["old"] is None
    row = await User.select(User.email, User.deleted_at).where(User.id == user_id).first()
    assert row is not None and row["email"] == "new.person@example.com"
    assert row["deleted_at"] is not None


async def test_a_refused_write_leaves_no_entry_and_no_change(client_for: ClientFactory) -> None:
    # given a clip, when an edit sets its rank by hand (the media services rank clips)
    asset = await make_asset(await make_user())
    (clip,) = await make_clips(asset, 1)
    client = await client_for(admin=True)
    response = await client.patch(
        f"/admin/api/tables/clips/{clip.id}/", json={"rank": 0}, headers=csrf(client)
    )
    # then it is refused, nothing is recorded, and the row is unchanged
    assert response.status_code == 422
    assert await audit_entry_list_for_row(table_name="clips", row_id=clip.id) == []
    row = await Clip.select(Clip.rank).where(Clip.id == clip.id).first()
    assert row == {"rank": 1}


async def test_the_audit_log_is_readable_but_not_editable(client_for: ClientFactory) -> None:
    # given one entry
    asset = await make_asset(await make_user())
    (clip,) = await make_clips(asset, 1)
    client = await client_for(admin=True)
    edited = await client.patch(
        f"/admin/api/tables/clips/{clip.id}/",
        json={"metadata": '{"note": "checked"}'},
        headers=csrf(client),
    )
    assert edited.status_code == 200, edited.text
    listing = await client.get(f"/admin/api/tables/audit_entries/?row_id={clip.id}")
    assert listing.status_code == 200
    (entry,) = listing.json()["rows"]
    assert entry["table_name"] == "clips"
    # when anyone tries to add, edit or delete an entry, then the admin refuses
    path = f"/admin/api/tables/audit_entries/{entry['id']}/"
    assert (
        await client.patch(path, json={"action": "CREATE"}, headers=csrf(client))
    ).status_code == 405
    assert (
        await client.put(path, json={"action": "CREATE"}, headers=csrf(client))
    ).status_code == 405
    assert (await client.delete(path, headers=csrf(client))).status_code == 405
    created = await client.post(
        "/admin/api/tables/audit_entries/", json={"action": "CREATE"}, headers=csrf(client)
    )
    assert created.status_code == 405
    assert len(await audit_entry_list_for_row(table_name="clips", row_id=clip.id)) == 1


async def test_a_superuser_creating_a_login_is_audited_without_the_password(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True, superuser=True)
    new = (await client.get("/admin/api/tables/piccolo_user/new/")).json()
    response = await client.post(
        "/admin/api/tables/piccolo_user/",
        json={
            **new,
            "username": "second-operator",
            "password": "another-long-password-9",
            "email": "second@example.com",
            "admin": True,
        },
        headers=csrf(client),
    )
    assert response.status_code == 201, response.text
    login_id = response.json()["id"]
    (entry,) = await audit_entry_list_for_row(table_name="piccolo_user", row_id=login_id)
    assert entry["action"] == "CREATE"
    assert entry["changes"]["username"] == {"old": None, "new": "second-operator"}
    assert entry["changes"]["password"] == {"old": None, "new": "***"}
    assert "another-long-password-9" not in str(entry)
