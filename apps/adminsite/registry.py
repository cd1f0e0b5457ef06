"""What the admin shows, read from Piccolo's app registry (``piccolo_conf.APP_REGISTRY``).

A new app gets its admin pages by having an ``admin.py`` (``TABLE_CONFIGS``, ``FORMS``);
a new table is soft-deletable in the admin (restore, purge, "Deleted ..." links) by having a
``deleted_at`` column, and its rows get readable labels in the pickers from the ``ROW_LABELS``
its app's selectors export. Nothing here names an app or a table.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

from piccolo.conf.apps import AppRegistry, Finder
from piccolo.table import Table

#: The admin site's own forms (restore, purge), after every app's.
SITE_FORMS_MODULE = "apps.adminsite.forms"


def app_registry() -> AppRegistry:
    """The project's app registry (``piccolo_conf.APP_REGISTRY``)."""
    return Finder().get_app_registry()


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package that does not exist
        return False


def admin_modules(registry: AppRegistry | None = None) -> tuple[str, ...]:
    """Every registered app's ``admin`` module, in registry order, then the site's forms."""
    registry = registry or app_registry()
    modules = []
    for app in registry.apps:
        package = app.rpartition(".")[0]
        if package and _has_module(f"{package}.admin"):
            modules.append(f"{package}.admin")
    return (*modules, SITE_FORMS_MODULE)


def is_soft_deletable(table: type[Table]) -> bool:
    """Whether ``table`` has a ``deleted_at`` column (deleting a row only hides it)."""
    return any(column._meta.name == "deleted_at" for column in table._meta.columns)


@cache
def soft_deletable_tables() -> dict[str, type[Table]]:
    """Every registered table with a ``deleted_at`` column, by table name, in registry order."""
    return {
        table._meta.tablename: table
        for config in app_registry().app_configs.values()
        for table in config.table_classes
        if is_soft_deletable(table)
    }


@cache
def row_labels() -> dict[str, str]:
    """The ``ROW_LABELS`` of every registered app's selectors: by table name, the SQL
    expression (over the alias ``t``) that labels a row of it for people."""
    labels: dict[str, str] = {}
    for app in app_registry().apps:
        package = app.rpartition(".")[0]
        if package and _has_module(f"{package}.selectors"):
            module = importlib.import_module(f"{package}.selectors")
            labels.update(getattr(module, "ROW_LABELS", {}))
    return labels
