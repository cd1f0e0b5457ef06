"""Raw SQL steps for the few things Piccolo's auto-migrations cannot express.

A migration calls ``manager.add_raw(sql_step(...))`` and always pairs it with
``manager.add_raw_backwards(sql_step(...))``. The step runs inside the migration's
transaction (``run_ddl`` joins the engine's current transaction).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine

# CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] <name>
_CONCURRENT_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>[a-z_][a-z0-9_]*)\s",
    re.IGNORECASE,
)


async def _drop_invalid_index(engine: Engine[Any], name: str) -> None:
    # A concurrent build that was interrupted (a killed deploy, a lost connection) leaves an
    # invalid index under the name: IF NOT EXISTS would skip the build and keep it for good.
    # The name is an identifier (matched by _CONCURRENT_INDEX), safe to inline.
    # When the interrupted build's backend is still running (a killed client is not noticed
    # by default), the DROP waits for it; if that build then completes, the two catalog
    # updates race and the DROP fails with "tuple concurrently updated". Look again: the
    # index is valid by then and is kept (IF NOT EXISTS then skips the build).
    for attempt in range(RACE_RETRIES):
        rows = await engine.run_ddl(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            f"WHERE c.relname = '{name}' AND NOT i.indisvalid "
            "AND c.relnamespace = ANY (current_schemas(false)::regnamespace[])"
        )
        if not rows:
            return
        try:
            await engine.run_ddl(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            return
        except Exception as error:
            if not _lost_catalog_race(error) or attempt == RACE_RETRIES - 1:
                raise


RACE_RETRIES = 3
_DROP_IF_EXISTS = re.compile(r"^\s*DROP\s+INDEX\s+CONCURRENTLY\s+IF\s+EXISTS\s", re.IGNORECASE)


def _lost_catalog_race(error: Exception) -> bool:
    return "tuple concurrently updated" in str(error)


async def _run_statement(engine: Engine[Any], statement: str) -> None:
    # An idempotent DROP INDEX CONCURRENTLY IF EXISTS that lost the same race (an orphaned
    # build of that index finishing meanwhile) simply runs again.
    for attempt in range(RACE_RETRIES):
        try:
            await engine.run_ddl(statement)
            return
        except Exception as error:
            retry = _DROP_IF_EXISTS.match(statement) and _lost_catalog_race(error)
            if not retry or attempt == RACE_RETRIES - 1:
                raise


def sql_step(*statements: str) -> Callable[[], Awaitable[None]]:
    """A raw migration step that runs ``statements`` in order.

    Before a ``CREATE INDEX CONCURRENTLY`` it drops an invalid index of the same name, so a
    migration interrupted during the build can simply run again.
    """

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None, "piccolo_conf.py defines no engine"
        for statement in statements:
            match = _CONCURRENT_INDEX.match(statement)
            if match:
                await _drop_invalid_index(engine, match.group("name"))
            await _run_statement(engine, statement)

    # Read by `piccolo db sql` so the migration lint sees raw steps too.
    setattr(run, "statements", statements)  # noqa: B010
    return run


class RecordedOnlyMigrationManager(MigrationManager):
    """A manager whose Piccolo operations are recorded, not run: its raw steps do the work.

    For a change Piccolo's DDL cannot apply (a table converted to a partitioned one): the
    operations (add_table, alter_column...) still describe the new state, so the
    auto-migration differ and ``piccolo db drift`` see the tables in code as migrated.
    """

    async def _run_query(self, query: Any) -> None:
        return None
