from __future__ import annotations

import sys

from apps.db.cli import run_command
from apps.db.doctor import database_doctor


def doctor() -> None:
    """Check the configured database: server version, pgvector, pool settings, applied and
    pending migrations per app, drift. Each problem is one line; exits 1 if there is any.
    """
    report = run_command(database_doctor())
    for label, value in report.facts:
        print(f"{label:<22} {value}")
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if report.problems:
        sys.exit(1)
    print("ok: no problems found")
