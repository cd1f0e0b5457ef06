"""Who may enter: every admin API endpoint refuses anonymous and non-admin requests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.admin.conftest import ClientFactory, build_app, create_login, csrf


def admin_api_requests(web_app: Starlette) -> list[tuple[str, str]]:
    """(method, path) of every route behind ``/admin/api/``, path parameters filled in."""
    admin = next(r for r in web_app.routes if isinstance(r, Mount) and r.path == "/admin")
    admin_app: Any = admin.app
    while not hasattr(admin_app, "routes"):  # middleware in front (the form choices)
        admin_app = admin_app.app
    api = next(r for r in admin_app.routes if isinstance(r, Mount) and r.path == "/api")
    auth_middleware: Any = api.app
    private_app = auth_middleware.app  # the private FastAPI app behind the session auth
    requests: list[tuple[str, str]] = []
    for route in private_app.routes:
        path = (
            route.path.replace("{row_id:str}", str(uuid.uuid4()))
            .replace("{form_slug:str}", "issue-an-api-key")
            .replace("{path}", "")
        )
        if route.path.startswith(("/openapi", "/docs")):
            path = route.path
        methods = getattr(route, "methods", None) or {"GET"}
        requests.extend((method, f"/admin/api{path}") for method in methods if method != "HEAD")
    return requests


async def test_every_admin_api_endpoint_refuses_anonymous_requests(
    web_app: Starlette, client_for: ClientFactory
) -> None:
    # given a client that only fetched the login page (so it holds a CSRF token)
    client = await client_for(admin=None)
    requests = admin_api_requests(web_app)
    assert len(requests) > 60  # every table's routes, forms, user, media, docs
    # when it calls each endpoint, then each refuses it
    for method, path in requests:
        response = await client.request(method, path, headers=csrf(client), json={})
        assert response.status_code == 401, (method, path, response.status_code)


async def test_every_admin_api_endpoint_refuses_a_login_without_the_admin_flag(
    web_app: Starlette, client_for: ClientFactory
) -> None:
    # given a login without the admin flag (its password is right)
    client = await client_for(admin=None)
    login = await create_login(admin=False)
    response = await client.post(
        "/admin/public/login/",
        json={"username": login.username, "password": "correct-horse-battery-staple-1"},
        headers=csrf(client),
    )
    # then piccolo_api opens a session (the password is right), but no endpoint answers it
    assert response.status_code == 200
    for method, path in admin_api_requests(web_app):
        response = await client.request(method, path, headers=csrf(client), json={})
        assert response.status_code == 401, (method, path, response.status_code)


async def test_a_non_admin_session_is_refused_by_the_api(client_for: ClientFactory) -> None:
    # given an admin who logged in, then lost the admin flag
    from piccolo.apps.user.tables import BaseUser

    client = await client_for(admin=True)
    me = (await client.get("/admin/api/user/")).json()
    await BaseUser.update({BaseUser.admin: False}).where(BaseUser.id == int(me["user_id"]))
    # when the session is used again, then the API refuses it
    assert (await client.get("/admin/api/tables/")).status_code == 401
    assert (await client.get("/admin/api/tables/clips/")).status_code == 401


async def test_an_admin_logs_in_and_sees_every_table_grouped_by_app(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=True)
    grouped = (await client.get("/admin/api/tables/grouped/")).json()["grouped"]
    assert grouped["Users"] == ["api_keys", "users"]
    assert grouped["Media"] == ["assets", "clips", "predictions"]
    assert grouped["Ads"] == ["campaigns", "conversions", "experiments", "performance_metrics"]
    assert grouped["Knowledge"] == ["knowledge_document_versions", "knowledge_documents"]
    assert grouped["Audit"] == ["audit_entries"]


async def test_a_write_without_the_csrf_token_is_refused(client_for: ClientFactory) -> None:
    client = await client_for(admin=True)
    response = await client.post("/admin/api/tables/users/", json={"email": "x@y.io"})
    assert response.status_code == 403


async def test_login_attempts_are_rate_limited() -> None:
    # given an app allowing 3 login attempts per 5 minutes
    app = build_app(attempts=3)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await client.get("/admin/")
        statuses = [
            (
                await client.post(
                    "/admin/public/login/",
                    json={"username": "nobody", "password": "wrong"},
                    headers=csrf(client),
                )
            ).status_code
            for _ in range(5)
        ]
    # then the attempts past the limit are refused with 429
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


async def test_root_redirects_to_the_admin_and_healthz_checks_the_database(
    client_for: ClientFactory,
) -> None:
    client = await client_for(admin=None)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/admin/"
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


async def test_hosts_outside_the_allowed_hosts_are_refused() -> None:
    app = build_app(allowed_hosts=["admin.example.com"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evil.example.net"
    ) as client:
        assert (await client.get("/healthz")).status_code == 400


async def test_production_cookies_are_secure_and_the_referer_is_checked() -> None:
    # given the production app behind HTTPS, answering admin.example.com only
    app = build_app(
        environment="production",
        secret_key="a-production-secret-key-for-tests",
        allowed_hosts=["admin.example.com"],
    )
    login = await create_login(admin=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://admin.example.com"
    ) as client:
        page = await client.get("/admin/")
        token = client.cookies.get("csrftoken") or ""
        # a write whose referer is another site is refused (CSRF, defence in depth)
        forged = await client.post(
            "/admin/public/login/",
            json={"username": login.username, "password": "correct-horse-battery-staple-1"},
            headers={"X-CSRFToken": token, "Referer": "https://evil.example.net/"},
        )
        response = await client.post(
            "/admin/public/login/",
            json={"username": login.username, "password": "correct-horse-battery-staple-1"},
            headers={"X-CSRFToken": token, "Referer": "https://admin.example.com/admin/"},
        )
    assert forged.status_code == 403
    assert response.status_code == 200
    # then both cookies are HTTPS-only, and the session cannot be read by scripts
    (csrf_cookie,) = page.headers.get_list("set-cookie")
    assert "; Secure" in csrf_cookie
    (session_cookie,) = response.headers.get_list("set-cookie")
    assert session_cookie.startswith("id=")
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie


async def test_an_admin_can_open_every_table(client_for: ClientFactory) -> None:
    client = await client_for(admin=True)
    tables = (await client.get("/admin/api/tables/")).json()
    assert len(tables) == 13
    for table in tables:
        for suffix in ("?__readable=true", "count/", "schema/", "new/", "ids/"):
            response = await client.get(f"/admin/api/tables/{table}/{suffix}")
            assert response.status_code == 200, (table, suffix, response.text)
