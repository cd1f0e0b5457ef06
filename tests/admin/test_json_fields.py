"""An editable JSON field (``metadata``) emptied in the edit form means ``{}`` (the data
model's default: not null, an object), not a refusal; only invalid JSON is refused, on the
field, with the rule it broke."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from apps.audit.selectors import audit_entry_list_for_row
from apps.media.tables import Clip
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_asset, make_clips, make_user


async def patch(client: httpx.AsyncClient, clip: Clip, data: dict[str, Any]) -> httpx.Response:
    return await client.patch(
        f"/admin/api/tables/clips/{clip.id}/", json=data, headers=csrf(client)
    )


async def metadata_of(clip: Clip) -> Any:
    row = await Clip.select(Clip.metadata).where(Clip.id == clip.id).first().output(load_json=True)
    assert row is not None
    return row["metadata"]


@pytest.mark.parametrize("emptied", ["", "   ", "\n", None])
async def test_an_emptied_json_field_means_an_empty_object(
    client_for: ClientFactory, emptied: str | None
) -> None:
    (clip,) = await make_clips(await make_asset(await make_user()), 1)
    await Clip.update({Clip.metadata: {"source": "import"}}).where(Clip.id == clip.id)
    client = await client_for(admin=True)
    response = await patch(client, clip, {"metadata": emptied})
    assert response.status_code == 200, response.text
    assert await metadata_of(clip) == {}
    (entry,) = await audit_entry_list_for_row(table_name="clips", row_id=clip.id)
    assert entry["changes"]["metadata"]["new"] == {}


async def test_emptying_an_already_empty_json_field_writes_nothing(
    client_for: ClientFactory,
) -> None:
    (clip,) = await make_clips(await make_asset(await make_user()), 1)
    client = await client_for(admin=True)
    response = await patch(client, clip, {"metadata": ""})
    assert response.status_code == 200, response.text
    assert await metadata_of(clip) == {}
    assert await audit_entry_list_for_row(table_name="clips", row_id=clip.id) == []


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        ('{"source": ', "metadata must be valid JSON: Expecting value at line 1, column 12"),
        ("not json", "metadata must be valid JSON: Expecting value at line 1, column 1"),
        ("[1, 2]", "metadata must be a JSON object"),
        ("3", "metadata must be a JSON object"),
    ],
)
async def test_invalid_json_is_refused_on_the_field(
    client_for: ClientFactory, sent: str, says: str
) -> None:
    (clip,) = await make_clips(await make_asset(await make_user()), 1)
    await Clip.update({Clip.metadata: {"source": "import"}}).where(Clip.id == clip.id)
    client = await client_for(admin=True)
    response = await patch(client, clip, {"metadata": sent})
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"][-1] == "metadata"
    assert says in detail["msg"]
    assert await metadata_of(clip) == {"source": "import"}
    assert await audit_entry_list_for_row(table_name="clips", row_id=clip.id) == []
