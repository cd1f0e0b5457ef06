"""The "Issue an API key" form: the full key is shown once and never stored."""

from __future__ import annotations

import re

from apps.audit.selectors import audit_entry_list_for_row
from apps.users.tables import ApiKey
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_user


async def test_issuing_an_api_key_shows_it_once_and_stores_only_its_hash(
    client_for: ClientFactory,
) -> None:
    # given a user
    user = await make_user()
    client = await client_for(admin=True)
    # when an admin issues a key with scopes
    response = await client.post(
        "/admin/api/forms/issue-an-api-key/",
        json={"user_id": str(user.id), "name": "CI", "scopes": "read, write"},
        headers=csrf(client),
    )
    # then the message carries the full key
    assert response.status_code == 200, response.text
    message = response.json()["custom_form_success"]
    match = re.search(r"shown only once: (\S+)$", message)
    assert match is not None
    full_key = match.group(1)
    # and the row holds a prefix of it and a hash, never the key itself
    (row,) = await ApiKey.select().where(ApiKey.user == user.id)
    assert full_key.startswith(row["prefix"])
    assert full_key not in str(row)
    assert row["key_hash"] and row["key_hash"] != full_key
    assert row["scopes"] == ["read", "write"]
    # and the key is not readable again through the admin
    listing = await client.get(f"/admin/api/tables/api_keys/?user={user.id}")
    assert full_key not in listing.text
    (entry,) = await audit_entry_list_for_row(table_name="api_keys", row_id=row["id"])
    assert entry["action"] == "FORM"
    assert full_key not in str(entry)


async def test_issuing_a_key_for_an_unknown_user_is_refused(client_for: ClientFactory) -> None:
    client = await client_for(admin=True)
    response = await client.post(
        "/admin/api/forms/issue-an-api-key/",
        json={"user_id": "00000000-0000-0000-0000-000000000000", "name": "CI"},
        headers=csrf(client),
    )
    assert response.status_code == 422
    assert "custom_form_error" in response.json()
