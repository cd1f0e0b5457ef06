"""Raw SQL steps for the few things Piccolo's auto-migrations cannot express.

A migration calls ``manager.add_raw(sql_step(...))`` and always pairs it with
``manager.add_raw_backwards(sql_step(...))``. The step runs inside the migration's
transaction (``run_ddl`` joins the engine's current transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from piccolo.engine import engine_finder


def sql_step(*statements: str) -> Callable[[], Awaitable[None]]:
    """A raw migration step that runs ``statements`` in order."""

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None, "piccolo_conf.py defines no engine"
        for statement in statements:
            await engine.run_ddl(statement)

    # Read by `piccolo db sql` so the migration lint sees raw steps too.
    setattr(run, "statements", statements)  # noqa: B010
    return run
