"""The audit log's service and selector, against the real database."""

from __future__ import annotations

import datetime
import decimal
import uuid

from apps.audit.records import AuditEntryRecord
from apps.audit.selectors import audit_entry_list_for_row
from apps.audit.services import SECRET_MARK, Actor, audit_entry_record, field_changes
from apps.audit.tables import AuditAction, AuditEntry


async def test_an_entry_is_written_once_and_read_back_as_written() -> None:
    # given a row's change with values JSON cannot hold as such, and a secret field
    row_id = uuid.uuid4()
    changes = field_changes(
        old={"budget": decimal.Decimal("10.50"), "password": "old", "updated_at": 1},
        new={"budget": decimal.Decimal("12.00"), "password": "new", "updated_at": 2},
        secret_fields=frozenset({"password"}),
    )
    # when it is recorded
    entry = await audit_entry_record(
        actor=Actor(id=7, username="ops"),
        action=AuditAction.UPDATE,
        table_name="campaigns",
        row_id=row_id,
        changes=changes,
    )
    # then the typed row comes back: decimals as strings, the secret masked, timestamps left out
    assert isinstance(entry, AuditEntryRecord)
    assert (entry.actor_id, entry.actor_username, entry.action) == (7, "ops", AuditAction.UPDATE)
    assert (entry.table_name, entry.row_id) == ("campaigns", str(row_id))
    assert entry.changes == {
        "budget": {"old": "10.50", "new": "12.00"},
        "password": {"old": SECRET_MARK, "new": SECRET_MARK},
    }
    assert isinstance(entry.created_at, datetime.datetime)
    assert await AuditEntry.count().where(AuditEntry.id == entry.id) == 1
    # and the selector lists it as a dict with its changes decoded
    (listed,) = await audit_entry_list_for_row(table_name="campaigns", row_id=row_id)
    assert listed == entry.as_dict()
    assert listed["action"] == "UPDATE"


async def test_entries_of_a_row_are_listed_newest_first_up_to_the_limit() -> None:
    # given three entries about one row and one about another
    row_id = uuid.uuid4()
    actor = Actor(id=None, username="ops")
    written = [
        await audit_entry_record(
            actor=actor, action=action, table_name="clips", row_id=row_id, changes={"n": n}
        )
        for n, action in enumerate((AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE))
    ]
    await audit_entry_record(actor=actor, action=AuditAction.CREATE, table_name="clips", row_id=1)
    # when the row's entries are listed, all and then two
    everything = await audit_entry_list_for_row(table_name="clips", row_id=row_id)
    two = await audit_entry_list_for_row(table_name="clips", row_id=row_id, limit=2)
    # then they are that row's only, newest first (ties on created_at broken by id)
    assert {entry["id"] for entry in everything} == {entry.id for entry in written}
    keys = [(entry["created_at"], entry["id"]) for entry in everything]
    assert keys == sorted(keys, reverse=True)
    assert two == everything[:2]
