"""Drift: differences between the tables in code and the schema the migrations build.

This is what ``piccolo migrations new <app> --auto`` would write, computed without writing
a file, so CI and ``piccolo db drift`` can fail when a model changed without a migration.
"""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import Finder


async def migration_drift(app_names: list[str] | None = None) -> dict[str, list[str]]:
    """The pending schema changes per app (only apps that have some)."""
    # "n" answers the differ's questions (was this column renamed?) without a prompt.
    manager = AutoMigrationManager(auto_input="n")
    drift: dict[str, list[str]] = {}
    for app_config in Finder().get_app_configs():
        if app_names is not None and app_config.app_name not in app_names:
            continue
        with contextlib.redirect_stdout(io.StringIO()):  # the differ prints a summary table
            alter_statements = await manager.get_alter_statements(app_config=app_config)
        changes = [line for block in alter_statements for line in block.statements]
        if changes:
            drift[app_config.app_name] = changes
    return drift
