"""``make run``'s first-login helper: how to log in to the admin the first time.

On the embedded development database (no ``DATABASE_URL``), when no admin login exists yet,
it creates ``admin`` with a random password and prints that password once. With
``DATABASE_URL`` set it never creates anything: it prints the command to run instead.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from apps.core.errors import GatewayError
from apps.core.settings import get_settings

CREATE_HINT = "create one with: .venv/bin/piccolo user create  (answer yes to 'admin user')"


async def first_login(*, admin_url: str) -> str:
    """The message to print (creating the local login when that is allowed)."""
    from apps.adminsite import selectors, services

    if await selectors.admin_login_exists():
        return f"Admin: {admin_url}  (more logins: .venv/bin/piccolo user create)"
    if get_settings().database_url:
        return f"Admin: {admin_url}  No admin login exists yet; {CREATE_HINT}"
    password = secrets.token_urlsafe(12)
    await services.admin_login_create(username="admin", password=password, email="admin@localhost")
    return (
        f"Admin: {admin_url}  Created the local login 'admin' with password {password}\n"
        "  (shown once, on the embedded development database only; change it in the admin)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")
    args = parser.parse_args()
    try:
        print(asyncio.run(first_login(admin_url=args.url)))
    except GatewayError as error:
        sys.exit(f"first login: {error.message}")


if __name__ == "__main__":
    main()
