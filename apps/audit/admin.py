"""The audit log in the admin: readable, filterable, never editable."""

from __future__ import annotations

from piccolo_api.crud.endpoints import OrderBy

from apps.adminsite.config import GatewayTableConfig
from apps.audit.tables import AuditEntry

TABLE_CONFIGS = [
    GatewayTableConfig(
        AuditEntry,
        read_only=True,
        menu_group="Audit",
        visible_columns=[
            AuditEntry.created_at,
            AuditEntry.actor_username,
            AuditEntry.action,
            AuditEntry.table_name,
            AuditEntry.row_id,
            AuditEntry.changes,
        ],
        visible_filters=[
            AuditEntry.table_name,
            AuditEntry.row_id,
            AuditEntry.action,
            AuditEntry.actor_username,
            AuditEntry.created_at,
        ],
        order_by=[OrderBy(AuditEntry.created_at, ascending=False)],
        link_column=AuditEntry.created_at,
    )
]
FORMS: list[object] = []
