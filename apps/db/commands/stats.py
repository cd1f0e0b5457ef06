from __future__ import annotations

import json
from typing import Any

from apps.db.cli import fail, flag, run_command
from apps.db.stats import database_stats, render_text


def stats(json_output: bool = False, **options: Any) -> None:
    """Where the database spends its effort: largest tables and indexes, indexes never used
    since the statistics were reset, tables read by many sequential scans, cache hit ratio,
    dead rows and the last autovacuum, and the slowest statements when pg_stat_statements is
    loaded. Reads statistics views only.

    :param json_output:
        Print the report as one JSON object (also spelt --json).
    :param options:
        Only --json.
    """
    as_json = flag(options.pop("json", json_output), "json")
    if options:
        fail("unknown option(s): " + ", ".join(f"--{name}" for name in options))
    report = run_command(database_stats())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(render_text(report), end="")
