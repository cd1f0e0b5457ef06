"""The SQL every migration runs, raw steps included, for the migration lint (squawk).

Piccolo's ``forwards --preview`` prints the auto-generated DDL but leaves raw steps out;
raw steps built with :func:`apps.core.migration_steps.sql_step` carry their statements, so
they are included here. A raw step written any other way is flagged in a comment.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.base import BaseMigrationManager


@dataclass(frozen=True)
class MigrationSql:
    """One migration and the SQL it runs (statements end with ``;``)."""

    app_name: str
    migration_id: str
    module_name: str
    sql: str


def _statement(sql: str) -> str:
    sql = sql.strip()
    return sql if sql.endswith(";") else sql + ";"


async def _manager_sql(manager: MigrationManager) -> str:
    parts: list[str] = []
    if not manager.wrap_in_transaction:
        # The lint assumes each migration runs in a transaction (--assume-in-transaction);
        # this one does not (e.g. CREATE INDEX CONCURRENTLY), so that rule does not apply.
        parts.append("-- squawk-ignore-file ban-concurrent-index-creation-in-transaction")
    for raw in manager.raw:
        statements = getattr(raw, "statements", None)
        if statements is None:
            parts.append(f"-- raw step {getattr(raw, '__name__', raw)!s} is not inspectable")
        else:
            parts.extend(_statement(statement) for statement in statements)
    manager.preview = True
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        await manager.run()
    # The first line is Piccolo's progress ("  - <id> [preview forwards]... ").
    _, _, ddl = output.getvalue().partition("\n")
    parts.extend(_statement(block) for block in ddl.split("\n\n") if block.strip())
    return "\n".join(parts) + "\n"


async def migrations_sql() -> list[MigrationSql]:
    """The SQL of every migration of every app, in the order a deploy applies them."""
    finder = BaseMigrationManager()
    result: list[MigrationSql] = []
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name=app_name)
        modules = finder.get_migration_modules(app_config.resolved_migrations_folder_path)
        for migration_id in sorted(modules):
            module = modules[migration_id]
            manager = await module.forwards()
            sql = await _manager_sql(manager) if isinstance(manager, MigrationManager) else ""
            result.append(
                MigrationSql(
                    app_name=app_name,
                    migration_id=migration_id,
                    module_name=module.__name__.rsplit(".", 1)[-1],
                    sql=sql,
                )
            )
    return result
