"""Failed admin logins are limited per client and per username; the block lifts by itself."""

from __future__ import annotations

import httpx
from piccolo.apps.user.tables import BaseUser

from apps.adminsite.security import LoginAttempts, client_address
from apps.audit.tables import AdminLoginFailure
from tests.admin.conftest import PASSWORD, build_app, create_login, csrf


async def attempt(
    client: httpx.AsyncClient, username: str, password: str, forwarded: str | None = None
) -> httpx.Response:
    headers = csrf(client)
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return await client.post(
        "/admin/public/login/",
        json={"username": username, "password": password},
        headers=headers,
    )


def client_of(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://testserver",
    )


async def test_a_block_lifts_when_the_failures_leave_the_window() -> None:
    # given 3 failures allowed per 60 s, on a clock the test moves
    now = [1000.0]
    attempts = LoginAttempts(attempts=3, window=60, clock=lambda: now[0])
    keys = ["client:10.0.0.1"]
    for _ in range(3):
        await attempts.record_failure(keys)
        now[0] += 10
    # then the client waits until the first failure is 60 s old
    assert await attempts.retry_after(keys) == 30
    assert await attempts.retry_after(["client:10.0.0.2"]) == 0
    now[0] += 29.5
    assert await attempts.retry_after(keys) == 1
    now[0] += 0.5
    assert await attempts.retry_after(keys) == 0


async def test_failures_are_rows_and_old_ones_are_deleted() -> None:
    now = [5000.0]
    attempts = LoginAttempts(attempts=3, window=60, clock=lambda: now[0])
    await attempts.record_failure(["client:10.0.0.1", "username:alice"])
    await attempts.record_failure(["client:10.0.0.9"])
    assert await AdminLoginFailure.count() == 3
    # a later failure of one key deletes that key's expired failures (and, once per
    # window, every key's)
    now[0] += 61
    await attempts.record_failure(["client:10.0.0.1"])
    rows = await AdminLoginFailure.select(AdminLoginFailure.key)
    assert rows == [{"key": "client:10.0.0.1"}]


async def test_two_app_instances_share_the_count() -> None:
    # given two independent web apps (two uvicorn workers), 3 failures allowed
    first, second = build_app(attempts=3), build_app(attempts=3)
    async with client_of(first) as one, client_of(second) as two:
        await one.get("/admin/")
        await two.get("/admin/")
        # when a client fails twice on one worker and once on the other
        statuses = [(await attempt(one, "shared", "wrong")).status_code for _ in range(2)]
        statuses.append((await attempt(two, "shared", "wrong")).status_code)
        # then both workers block it, and say when to try again
        blocked = [await attempt(client, "shared", "wrong") for client in (one, two)]
    assert statuses == [401, 401, 401]
    assert [response.status_code for response in blocked] == [429, 429]
    assert all(290 <= int(r.headers["Retry-After"]) <= 300 for r in blocked)


async def test_a_blocked_client_is_told_when_to_try_again() -> None:
    app = build_app(attempts=3)
    async with client_of(app) as client:
        await client.get("/admin/")
        statuses = [(await attempt(client, "nobody", "wrong")).status_code for _ in range(3)]
        blocked = await attempt(client, "nobody", "wrong")
    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert 290 <= int(blocked.headers["Retry-After"]) <= 300
    assert "Too many failed logins. Try again in" in blocked.json()["detail"]


async def test_successful_logins_do_not_count() -> None:
    login = await create_login(admin=True)
    app = build_app(attempts=2)
    async with client_of(app) as client:
        await client.get("/admin/")
        statuses = [(await attempt(client, login.username, PASSWORD)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]


async def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_help() -> None:
    # given no trusted proxy: the loopback peer's X-Forwarded-For is not believed
    app = build_app(attempts=2)
    async with client_of(app) as client:
        await client.get("/admin/")
        statuses = [
            (await attempt(client, f"user{i}", "wrong", forwarded=f"203.0.113.{i}")).status_code
            for i in range(4)
        ]
    assert statuses == [401, 401, 429, 429]


async def test_behind_a_trusted_proxy_clients_count_apart_and_usernames_together() -> None:
    app = build_app(attempts=2, admin_trusted_proxies=["127.0.0.0/8"])
    async with client_of(app) as client:
        await client.get("/admin/")
        # different clients, different usernames: no one is blocked
        apart = [
            (await attempt(client, f"user{i}", "wrong", forwarded=f"203.0.113.{i}")).status_code
            for i in range(4)
        ]
        # one username from many clients: blocked after two failures
        together = [
            (await attempt(client, "target", "wrong", forwarded=f"198.51.100.{i}")).status_code
            for i in range(3)
        ]
    assert apart == [401, 401, 401, 401]
    assert together == [401, 401, 429]


def test_the_client_address_comes_from_trusted_proxies_only() -> None:
    scope = {
        "type": "http",
        "client": ("10.0.0.5", 5000),
        "headers": [(b"x-forwarded-for", b"198.51.100.7, 203.0.113.9, 10.0.0.6")],
    }
    # the peer is not a trusted proxy: its header is ignored
    assert client_address(scope, []) == "10.0.0.5"
    assert client_address(scope, ["192.0.2.0/24"]) == "10.0.0.5"
    # trusted proxies are skipped from the right; the first other address is the client
    assert client_address(scope, ["10.0.0.0/24"]) == "203.0.113.9"


async def test_a_deactivated_admin_cannot_log_in() -> None:
    login = await create_login(admin=True)
    await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == login.id)
    app = build_app()
    async with client_of(app) as client:
        await client.get("/admin/")
        response = await attempt(client, login.username, PASSWORD)
        assert response.status_code == 401
        assert "sessionid" not in client.cookies
        assert (await client.get("/admin/api/user/")).status_code == 401


async def test_the_login_page_shows_the_wait() -> None:
    app = build_app()
    async with client_of(app) as client:
        page = await client.get("/admin/")
    assert page.status_code == 200
    assert 'notice.id = "login-retry-notice"' in page.text
    assert "xhr.status !== 429" in page.text
