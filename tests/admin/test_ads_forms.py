"""The ads forms go through the ads services: the state machine decides, the audit records."""

from __future__ import annotations

from decimal import Decimal

from apps.ads import services
from apps.audit.selectors import audit_entry_list_for_row
from tests.admin.conftest import ClientFactory, csrf
from tests.admin.fixtures import make_user

FORM = "/admin/api/forms/change-a-campaign's-status/"


async def test_a_campaign_status_change_follows_the_state_machine(
    client_for: ClientFactory,
) -> None:
    # given a DRAFT campaign
    user = await make_user()
    campaign = await services.campaign_create(
        user_id=user.id, name="Spring", budget=Decimal("5000.00")
    )
    client = await client_for(admin=True)
    # when an operator schedules it, then it is SCHEDULED and audited
    response = await client.post(
        FORM, json={"campaign_id": str(campaign.id), "status": "SCHEDULED"}, headers=csrf(client)
    )
    assert response.status_code == 200, response.text
    assert "now SCHEDULED" in response.json()["custom_form_success"]
    (entry,) = await audit_entry_list_for_row(table_name="campaigns", row_id=campaign.id)
    assert entry["changes"] == {
        "form": {"old": None, "new": "change a campaign's status"},
        "status": {"old": "DRAFT", "new": "SCHEDULED"},
    }
    # when a move the state machine forbids is asked, then it is refused with the reason
    refused = await client.post(
        FORM, json={"campaign_id": str(campaign.id), "status": "PAUSED"}, headers=csrf(client)
    )
    assert refused.status_code == 422
    assert "cannot become PAUSED" in refused.json()["custom_form_error"]
    assert len(await audit_entry_list_for_row(table_name="campaigns", row_id=campaign.id)) == 1
