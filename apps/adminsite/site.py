"""Builds the admin ASGI app from every app's ``admin.py`` (TABLE_CONFIGS and FORMS)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import piccolo_admin.endpoints
from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import FormConfig, create_admin
from piccolo_api.crud.endpoints import OrderBy
from piccolo_api.session_auth.tables import SessionsBase

from apps.adminsite.config import GatewayTableConfig
from apps.adminsite.crud import GatewayCRUD
from apps.adminsite.observability import PAGE_PATH, AdminOperationLabel
from apps.adminsite.pickers import FormChoices
from apps.adminsite.registry import admin_modules
from apps.adminsite.security import ADMIN_PAGE_SCRIPT, NoLimit
from apps.core.settings import Settings, get_settings

LOGINS = GatewayTableConfig(
    BaseUser,
    menu_group="Admin logins",
    visible_columns=[
        BaseUser.id,
        BaseUser.username,
        BaseUser.email,
        BaseUser.active,
        BaseUser.admin,
        BaseUser.superuser,
        BaseUser.last_login,
    ],
    visible_filters=[BaseUser.username, BaseUser.email, BaseUser.admin, BaseUser.active],
    order_by=[OrderBy(BaseUser.username)],
)


def collect_admin_modules(
    modules: Sequence[str] | None = None,
) -> tuple[list[GatewayTableConfig], list[FormConfig]]:
    """Every app's table configs and forms, in menu order (default: the ``admin`` module of
    every app in the registry, then the site's own forms)."""
    if modules is None:
        modules = admin_modules()
    tables: list[GatewayTableConfig] = [LOGINS]
    forms: list[FormConfig] = []
    for name in modules:
        module = importlib.import_module(name)
        tables.extend(getattr(module, "TABLE_CONFIGS", []))
        forms.extend(getattr(module, "FORMS", []))
    return tables, forms


def deleted_rows_links(tables: Sequence[GatewayTableConfig]) -> dict[str, str]:
    """Sidebar links listing each soft-deletable table's deleted rows."""
    return {
        f"Deleted {config.table_class._meta.tablename.replace('_', ' ')}": (
            f"/admin/#/{config.table_class._meta.tablename}/?deleted_at__operator=not_null"
        )
        for config in tables
        if config.soft_deletes()
    }


def build_admin(settings: Settings | None = None) -> Any:
    """The Piccolo Admin app, with :class:`GatewayCRUD` behind every table."""
    settings = settings or get_settings()
    tables, forms = collect_admin_modules()
    crud_class = type(
        "ConfiguredGatewayCRUD",
        (GatewayCRUD,),
        {
            "table_configs": {config.table_class: config for config in tables},
            "estimate_count_above": settings.admin_estimate_count_above,
        },
    )
    stock = getattr(piccolo_admin.endpoints, "PiccoloCRUD")  # noqa: B009
    # Piccolo Admin has no option for the CRUD class; swap it only while building.
    setattr(piccolo_admin.endpoints, "PiccoloCRUD", crud_class)  # noqa: B010
    try:
        with warnings.catch_warnings():
            # "secret and required are incompatible": those columns are hidden from every
            # admin form here (api_keys.key_hash is only ever set by the issue-key form).
            warnings.filterwarnings("ignore", message=".*using `secret` and `required`")
            admin = create_admin(
                tables,
                forms=forms,
                auth_table=BaseUser,
                session_table=SessionsBase,
                session_expiry=timedelta(hours=settings.admin_session_hours),
                production=settings.is_production,
                allowed_hosts=settings.allowed_hosts_for_csrf,
                # Failed logins are limited per client and username by LoginRateLimit.
                rate_limit_provider=NoLimit(),
                site_name="Gateway admin",
                sidebar_links={**deleted_rows_links(tables), "Database": PAGE_PATH},
                auto_include_related=True,
            )
    finally:
        setattr(piccolo_admin.endpoints, "PiccoloCRUD", stock)  # noqa: B010
    router = _admin_router(admin)
    router.template = router.template.replace("</head>", f"{ADMIN_PAGE_SCRIPT}</head>", 1)
    return AdminOperationLabel(FormChoices(admin))


def _admin_router(app: Any) -> Any:
    """The AdminRouter inside the middleware create_admin wraps it in (it holds the page)."""
    while not hasattr(app, "template"):
        app = app.app
    return app
