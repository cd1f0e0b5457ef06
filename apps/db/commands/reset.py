from __future__ import annotations

from typing import Any

from apps.core.settings import get_settings
from apps.db.cli import confirm, flag, run_command
from apps.db.connection import project_engine
from apps.db.errors import CommandRefusedError
from apps.db.reset import database_reset, refuse_in_production

REMOVED = (
    "every table and its rows, the migration history, "
    "the admin logins (piccolo_user) and their sessions"
)


def reset(yes: bool = False, no_seed: bool = False, **options: Any) -> None:
    """Drop everything in the database (tables, migration history), apply every migration
    again, then seed. Asks first; refused without a terminal unless --yes; always refused
    in production.

    :param yes:
        Do not ask for confirmation.
    :param no_seed:
        Leave the database empty (also spelt --no-seed).
    :param options:
        Only --no-seed.
    """

    async def run() -> list[str]:
        settings = get_settings()
        without_seed = flag(options.pop("no-seed", no_seed), "no-seed")
        if options:
            raise CommandRefusedError(
                "unknown option(s): " + ", ".join(f"--{name}" for name in options)
            )
        refuse_in_production(settings, command="reset")
        target = project_engine().url.redacted
        confirm(f"This deletes ALL data in {target}: {REMOVED}.", yes=flag(yes, "yes"))
        return await database_reset(settings=settings, seed=not without_seed, progress=print)

    for line in run_command(run()):
        print(line)
    print(f"reset done; removed {REMOVED}")
    if get_settings().database_url:
        print("no admin login exists now: run `piccolo user create` (answer yes to 'admin user')")
    else:
        print("no admin login exists now: `make run` creates the local 'admin' login again")
