from __future__ import annotations

import getpass
import sys
from typing import Any

from apps.db.cli import fail, flag, run_command
from apps.db.connection import as_migration_role, dedicated_connection
from apps.db.errors import CommandRefusedError
from apps.db.roles import RolePlan, roles_script, roles_setup


def _passwords(plan: RolePlan) -> tuple[str | None, str | None]:
    """(application, migration) passwords: asked twice on a terminal, else two stdin lines.

    An empty answer (or line) leaves that role's password as it is (none for a new role).
    """
    if not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
        app, migration = [*lines, "", ""][:2]
        return app or None, migration or None
    answers: list[str | None] = []
    for name in (plan.app_role, plan.migration_role):
        first = getpass.getpass(f"password of {name} (empty: leave it as it is): ")
        if first and getpass.getpass(f"password of {name} again: ") != first:
            raise CommandRefusedError(f"the two passwords of {name} differ; nothing was changed")
        answers.append(first or None)
    return answers[0], answers[1]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def roles(
    app_role: str = "",
    migration_role: str = "",
    print: bool = False,  # the option is --print
    **options: Any,
) -> None:
    """Set up least privilege on the configured database: a migration role that owns the
    schema (for deploys) and an application role that only reads and writes rows. Connects
    with DATABASE_MIGRATION_URL (else DATABASE_URL) as a superuser or admin login. Passwords
    are asked on a terminal, else read from stdin (application first, then migration, one a
    line); they are never printed. Safe to run again.

    :param app_role:
        The application role, used by DATABASE_URL (also spelt --app-role).
    :param migration_role:
        The migration role, used by DATABASE_MIGRATION_URL (also spelt --migration-role).
    :param print:
        Print the SQL (without passwords) instead of running it.
    :param options:
        Only --app-role and --migration-role.
    """
    app = options.pop("app-role", app_role)
    migration = options.pop("migration-role", migration_role)
    if options:
        raise CommandRefusedError(
            "unknown option(s): " + ", ".join(f"--{name}" for name in sorted(options))
        )
    for name, value in (("app-role", app), ("migration-role", migration)):
        if not isinstance(value, str):
            # `--app-role NAME` reaches here as a bare flag: targ needs `--app-role=NAME`.
            fail(f"--{name} needs a value: --{name}=NAME")
    only_print = flag(print, "print")

    async def run() -> str | None:
        with as_migration_role() as engine:
            plan = RolePlan(app_role=app, migration_role=migration, database=engine.url.database)
            if only_print:
                return roles_script(plan)
            app_password, migration_password = _passwords(plan)
            async with dedicated_connection() as connection:
                await roles_setup(
                    connection,
                    plan,
                    app_password=app_password,
                    migration_password=migration_password,
                    progress=_say,
                )
        return None

    script = run_command(run())
    if script is not None:
        sys.stdout.write(script)
