"""``make run``'s first login: created (and its password shown) on the embedded server only."""

from __future__ import annotations

import re

import pytest
from piccolo.apps.user.tables import BaseUser

from apps.adminsite import first_login as module
from apps.core.settings import Settings
from tests.admin.conftest import create_login

URL = "http://127.0.0.1:8000/admin/"


async def test_with_database_url_it_only_prints_how_to_create_a_login() -> None:
    # given DATABASE_URL is set (as in the tests) and no admin login exists
    message = await module.first_login(admin_url=URL)
    # then it creates nothing and says how
    assert "piccolo user create" in message
    assert not await BaseUser.exists().where(BaseUser.admin == True)  # noqa: E712


async def test_on_the_embedded_database_it_creates_admin_and_shows_the_password_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the embedded database (no DATABASE_URL) and no admin login
    monkeypatch.setattr(module, "get_settings", lambda: Settings(database_url=None))
    message = await module.first_login(admin_url=URL)
    # then an admin login exists, and the printed password opens it
    match = re.search(r"login 'admin' with password (\S+)", message)
    assert match is not None
    assert await BaseUser.login(username="admin", password=match.group(1)) is not None
    # and a second run creates nothing more and prints no password
    again = await module.first_login(admin_url=URL)
    assert "password" not in again
    assert await BaseUser.count().where(BaseUser.username == "admin") == 1


async def test_an_existing_admin_login_means_nothing_is_created() -> None:
    await create_login(admin=True)
    message = await module.first_login(admin_url=URL)
    assert message.startswith(f"Admin: {URL}")
    assert "No admin login" not in message
