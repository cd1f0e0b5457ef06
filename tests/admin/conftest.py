"""Admin test helpers: the web app, admin logins and logged-in httpx clients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser
from starlette.applications import Starlette

PASSWORD = "correct-horse-battery-staple-1"


def build_app(**overrides: Any) -> Starlette:
    """The real web app, with settings overridden (e.g. a generous login rate limit)."""
    from app import create_app
    from apps.core.settings import Settings

    return create_app(Settings(admin_login_attempts=overrides.pop("attempts", 10_000), **overrides))


@pytest.fixture(scope="session")
def web_app() -> Starlette:
    return build_app()


async def create_login(*, admin: bool, superuser: bool = False) -> BaseUser:
    """An admin login (``piccolo_user``) in the test transaction."""
    user = BaseUser(
        username=f"login-{secrets.token_hex(4)}",
        password=PASSWORD,
        email=f"{secrets.token_hex(4)}@example.com",
        active=True,
        admin=admin,
        superuser=superuser,
    )
    await user.save()
    return user


async def log_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    """Log in through the admin's login endpoint, with the CSRF token it hands out."""
    await client.get("/admin/")
    return await client.post(
        "/admin/public/login/",
        json={"username": username, "password": PASSWORD},
        headers=csrf(client),
    )


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies.get("csrftoken") or ""}


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def client_for(web_app: Starlette) -> AsyncIterator[ClientFactory]:
    """``await client_for(admin=True)``: an httpx client logged in as a new login."""
    clients: list[httpx.AsyncClient] = []

    async def make(*, admin: bool | None = True, superuser: bool = False) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app), base_url="http://testserver"
        )
        clients.append(client)
        if admin is not None:
            login = await create_login(admin=admin, superuser=superuser)
            response = await log_in(client, login.username)
            assert response.status_code == 200, response.text
        else:
            await client.get("/admin/")
        return client

    yield make
    for client in clients:
        await client.aclose()
