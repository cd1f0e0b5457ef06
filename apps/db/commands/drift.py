from __future__ import annotations

import sys

from apps.core.drift import migration_drift
from apps.db.cli import run_command


def drift() -> None:
    """Exit 1, naming each app and change, when the tables in code and the schema their
    migrations build disagree (a model changed without a migration); exit 0 when they agree.
    """
    changes = run_command(migration_drift())
    if not changes:
        print("no drift: every app's tables match its migrations")
        return
    for app_name, statements in changes.items():
        for statement in statements:
            print(f"drift: app {app_name}: {statement}", file=sys.stderr)
    apps = ", ".join(changes)
    print(
        f"error: the tables of {apps} changed without a migration; run "
        "`piccolo migrations new <app> --auto` and commit it",
        file=sys.stderr,
    )
    sys.exit(1)
