from __future__ import annotations

import re
from datetime import date
from typing import Any

from apps.db.cli import fail, run_command
from apps.db.partitions import HISTORY, detach_before, ensure_partitions, this_month

_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")


def _month(text: str) -> date:
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match["month"]) <= 12:
        fail(f"--detach-before must be a month written YYYY-MM (got {text!r})")
    return date(int(match["year"]), int(match["month"]), 1)


async def ensure_all_partitions(months: int = 3) -> list[str]:
    """Create the missing partitions of every history table; return their names."""
    return [name for history in HISTORY for name in await ensure_partitions(history, months=months)]


async def _run(months: int, before: date | None) -> list[str]:
    lines = []
    for history in HISTORY:
        for name in await ensure_partitions(history, months=months):
            lines.append(f"created {name}")
        if before is not None:
            for name in await detach_before(history, before):
                lines.append(f"detached {name}")
    return lines


def partitions(months: str = "3", **options: Any) -> None:
    """Create the monthly partitions of conversions and performance_metrics for the current
    month and the next --months that are missing (safe to run again: a scheduler runs it
    daily; `make run` and `piccolo db deploy` run it once). With --detach-before YYYY-MM,
    also detach (CONCURRENTLY) the partitions wholly before that month and print their
    names: they stay as plain tables, with every row, ready to archive; nothing is dropped.

    :param months:
        How many months after the current one must have a partition (default 3, 0 to 120).
    :param options:
        Only --detach-before=YYYY-MM.
    """
    before_text = options.pop("detach-before", options.pop("detach_before", None))
    if options:
        fail("unknown option(s): " + ", ".join(f"--{name}" for name in options))
    count = int(months) if str(months).isdigit() else -1
    if not 0 <= count <= 120:
        fail(f"--months must be a whole number from 0 to 120 (got {months!r})")
    before = None
    if before_text is not None:
        before = _month(str(before_text))
        if before > this_month():
            fail(
                f"--detach-before {before_text} is after the current month: "
                "only past months can be detached"
            )
    lines = run_command(_run(count, before))
    for line in lines:
        print(line)
    if not lines:
        print("partitions up to date")
