from __future__ import annotations

from typing import Any

from apps.db.cli import fail, flag, run_command
from apps.db.seed import database_is_empty, database_seed


def seed(if_empty: bool = False, **options: Any) -> None:
    """Create the sample data (users, API keys, assets, clips, campaigns, knowledge). Safe to
    run again: existing sample rows are kept, nothing is doubled. New API keys are printed
    once.

    :param if_empty:
        Seed only when the database has no user yet (also spelt --if-empty; `make run`
        uses it).
    :param options:
        Only --if-empty.
    """
    only_if_empty = flag(options.pop("if-empty", if_empty), "if-empty")
    if options:
        fail("unknown option(s): " + ", ".join(f"--{name}" for name in options))
    if only_if_empty and not run_command(database_is_empty()):
        print("seed skipped: the database already has data")
        return
    report = run_command(database_seed(progress=print))
    for line in report.secrets:
        print(line)
    created = sum(report.created.values())
    print(f"seeded: {created} row(s) created, {sum(report.rows.values()) - created} already there")
