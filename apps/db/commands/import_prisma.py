from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from apps.db.cli import fail, flag, run_command
from apps.legacy.services import ImportReport, prisma_import


class _ProgressLine:
    """One stderr line per table, redrawn at most ten times a second: rows done / total."""

    def __init__(self) -> None:
        self._table: str | None = None
        self._started = 0.0
        self._drawn = 0.0
        self._live = sys.stderr.isatty()

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if table != self._table:
            self._finish()
            self._table, self._started, self._drawn = table, now, 0.0
        self._last = (done, total)
        if self._live and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(end="\r")

    def _draw(self, *, end: str) -> None:
        done, total = self._last
        width = 30
        filled = width * done // total if total else width
        rate = done / max(time.perf_counter() - self._started, 1e-6)
        bar = "#" * filled + "." * (width - filled)
        print(
            f"{self._table:<22} [{bar}] {done:>10,}/{total:,} rows {rate:>10,.0f} rows/s",
            file=sys.stderr,
            end=end,
            flush=True,
        )

    def _finish(self) -> None:
        if self._table is not None:
            self._draw(end="\n")

    def close(self) -> None:
        self._finish()
        self._table = None


def _print_report(report: ImportReport) -> None:
    header = ("table", "read", "imported", "repaired", "quarantined", "new", "changed", "gone")
    print(f"{header[0]:<22}" + "".join(f"{title:>12}" for title in header[1:]))
    for name, c in report.tables.items():
        figures = (c.source, c.imported, c.repaired, c.quarantined, c.inserted, c.updated)
        cells = "".join(f"{figure:>12,}" for figure in (*figures, c.missing_in_source))
        print(f"{name:<22}{cells}")
    print(
        f"api keys imported: {report.api_keys.get('inserted', 0)} new, "
        f"{report.api_keys.get('updated', 0)} changed, {report.api_keys.get('revoked', 0)} revoked"
    )
    for issue in report.repairs[:50]:
        print(f"repaired    {issue['table']} {issue['source_id']}: {issue['rule']}")
    for issue in report.quarantined[:50]:
        print(f"quarantined {issue['table']} {issue['source_id']}: {issue['rule']}")
    hidden = max(len(report.repairs) - 50, 0) + max(len(report.quarantined) - 50, 0)
    if hidden:
        print(f"... and {hidden} more (see --report)")
    if report.unknown_tables:
        print("left alone (not in the Prisma schema): " + ", ".join(report.unknown_tables))
    since = {c.read_since for c in report.tables.values() if c.read_since is not None}
    if since:
        print(
            "read: the rows changed since the last run (updatedAt >= "
            f"{min(since).isoformat()} or later, per table) and every id; --full reads all"
        )
    rate = report.as_dict()["rows_per_second"]
    print(f"{report.source_rows:,} source rows in {report.elapsed_seconds:.1f} s ({rate:,} rows/s)")


def import_prisma(source: str = "", report: str = "", **options: Any) -> None:
    """Copy every row of the Prisma-era database at SOURCE into this (migrated) database.

    The source is only read, in one snapshot. All or nothing: a failure or Ctrl-C leaves
    this database as it was. Safe to run again: only rows new or changed since the last run
    are written. See docs/import-prisma.md for the rules and the cutover.

    :param source:
        URL of the Prisma-era database (postgresql://...); only read.
    :param report:
        Write the report as JSON to this path.
    :param options:
        --dry-run (read and check everything, write nothing but the report) and --strict
        (refuse the whole import when any row would be repaired or quarantined), --full
        (read every row again, not only those changed since the last run's updatedAt mark).
    """
    dry_run = flag(options.pop("dry-run", options.pop("dry_run", False)), "dry-run")
    strict = flag(options.pop("strict", False), "strict")
    full = flag(options.pop("full", False), "full")
    if options:
        fail("unknown option(s): " + ", ".join(f"--{name}" for name in options))
    if not source:
        fail("--source is required: the URL of the Prisma-era database")
    # Checked before the import: a report that cannot be written after a commit is lost.
    if report and not Path(report).expanduser().resolve().parent.is_dir():
        fail(f"--report: the folder of {report} does not exist")
    if report and Path(report).is_dir():
        fail(f"--report: {report} is a folder, not a file")
    progress = _ProgressLine()
    try:
        outcome = run_command(
            prisma_import(
                source_url=source, dry_run=dry_run, strict=strict, full=full, progress=progress
            )
        )
    finally:
        progress.close()
    _print_report(outcome)
    if report:
        Path(report).expanduser().write_text(json.dumps(outcome.as_dict(), indent=2) + "\n")
    if outcome.refused:
        fail("--strict: some rows would be repaired or quarantined; nothing was written")
    if outcome.dry_run:
        print("dry run: nothing was written")
