"""The sync edge of the ``piccolo db`` verbs: run a coroutine, turn errors into one line.

A verb prints its failure as one line on stderr and exits 1; never a traceback. Errors the
project raises on purpose are :class:`GatewayError`; a database driver error that escapes a
lower layer is still reported as one line (its class and message).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import asyncpg

from apps.core.errors import GatewayError
from apps.db.errors import CommandRefusedError

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def run_command(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine``; a failure becomes one line on stderr and exit status 1."""
    try:
        return asyncio.run(coroutine)
    except GatewayError as error:
        fail(error.message)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        fail(f"database error ({type(error).__name__}): {error}")
    except KeyboardInterrupt:
        fail("interrupted")


def confirm(question: str, *, yes: bool) -> None:
    """Go on when ``yes`` or when the user types y on a terminal; refuse otherwise."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CommandRefusedError(f"{question} Refused: not a terminal; pass --yes to confirm.")
    answer = input(f"{question} Type y to continue: ").strip().lower()
    if answer not in ("y", "yes"):
        raise CommandRefusedError("cancelled; nothing was changed")


def flag(value: object, name: str) -> bool:
    """A targ flag value (``--yes`` gives True; ``--yes=false`` gives False)."""
    if isinstance(value, bool):
        return value
    fail(f"--{name} is a flag: use --{name} or --{name}=false")
