"""The audit log: one row per write done through the admin. Rows are never updated."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import JSONB, Integer, Text, Timestamptz
from piccolo.table import Table

from apps.core.schema import created_at_column, id_column, one_of


class AuditAction(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SOFT_DELETE = "SOFT_DELETE"
    RESTORE = "RESTORE"
    PURGE = "PURGE"
    FORM = "FORM"


class AuditEntry(Table, tablename="audit_entries"):
    """Who changed which row of which table, when, and each field's old and new value.

    ``changes`` maps a field to ``{"old": ..., "new": ...}``; a secret field records only
    that it changed. The actor is the admin login (``piccolo_user``); its id is kept without
    a foreign key so the trail outlives the login.
    """

    id = id_column()
    actor_id = Integer(null=True, default=None, index=True)
    actor_username = Text(default="")
    action = Text(required=True, default=None, choices=AuditAction)
    table_name = Text(required=True, default=None, index=True)
    row_id = Text(required=True, default=None, index=True)
    changes = JSONB(default={})
    created_at = created_at_column()

    action_is_valid = one_of("action", AuditAction)


class AdminLoginFailure(Table, tablename="admin_login_failures"):
    """A failed admin login, once per key it counts against (``client:<address>``,
    ``username:<name>``), shared by every web worker (the login limit,
    ``apps.adminsite.security.LoginAttempts``). Rows older than the limit's window are
    deleted as new failures come in; an index on (key, failed_at) serves the count."""

    id = id_column()
    key = Text(required=True, default=None)
    failed_at = Timestamptz(required=True, default=None)
