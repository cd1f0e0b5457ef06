"""/metrics is closed by default and speaks Prometheus; /readyz fails while a migration is
pending; the admin's Database page is for admins; admin requests label their queries."""

from __future__ import annotations

import secrets

import httpx
from piccolo.querystring import QueryString
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from app import create_app
from apps.core import observability
from apps.core.settings import Settings
from piccolo_conf import DB
from tests.admin.conftest import create_login, log_in
from tests.observability.conftest import sample

TOKEN = secrets.token_urlsafe(24)


def client() -> httpx.AsyncClient:
    app = create_app(Settings(metrics_token=SecretStr(TOKEN), admin_login_attempts=10_000))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_metrics_refuses_anonymous_requests_and_a_wrong_token() -> None:
    async with client() as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
        wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert TOKEN not in wrong.text


async def test_metrics_is_closed_without_a_configured_token() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


async def test_metrics_with_the_token_parses_as_prometheus_text() -> None:
    # given some labelled queries
    with observability.operation("test.metrics"):
        await DB.run_querystring(QueryString("SELECT 1"))
    # when the bearer token asks
    async with client() as c:
        response = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    # then the Prometheus parser reads every family, with the figures the issue asks for
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    for name in (
        "gatewaydb_query_duration_seconds",
        "gatewaydb_slow_queries",
        "gatewaydb_errors",
        "gatewaydb_pool_size",
        "gatewaydb_pool_in_use",
        "gatewaydb_pool_idle",
        "gatewaydb_pool_waiting",
        "gatewaydb_pool_wait_seconds",
        "gatewaydb_pool_timeouts",
        "gatewaydb_connection_errors",
        "gatewaydb_migrations_pending",
    ):
        assert name in families, name
    counted = [
        s
        for s in families["gatewaydb_query_duration_seconds"].samples
        if s.labels.get("operation") == "test.metrics"
        and s.name == "gatewaydb_query_duration_seconds_count"
    ]
    assert counted and counted[0].value >= 1
    [pending] = families["gatewaydb_migrations_pending"].samples
    assert pending.value == 0


async def test_metrics_accepts_an_admin_session_and_refuses_other_logins() -> None:
    admin = await create_login(admin=True)
    staff = await create_login(admin=False)
    async with client() as as_admin, client() as as_staff:
        assert (await log_in(as_admin, admin.username)).status_code == 200
        await log_in(as_staff, staff.username)
        assert (await as_admin.get("/metrics")).status_code == 200
        assert (await as_staff.get("/metrics")).status_code == 401


async def test_readyz_is_ok_when_migrated_and_fails_while_a_migration_is_pending() -> None:
    async with client() as c:
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ok"}
        # given the history forgets the last migration (in the test's transaction)
        rows = await DB.run_querystring(
            QueryString(
                "DELETE FROM migration WHERE id = (SELECT max(id) FROM migration) "
                "RETURNING app_name, name"
            )
        )
        forgotten = f"{rows[0]['app_name']}:{rows[0]['name']}"
        # then /readyz answers 503 naming it, and /metrics counts it
        response = await c.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert "1 migration(s) pending" in body["reason"]
        assert body["pending_migrations"] == [forgotten]
        await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert sample("gatewaydb_migrations_pending") == 1


async def test_an_admin_request_labels_its_queries_by_table() -> None:
    admin = await create_login(admin=True)
    before = sample("gatewaydb_query_duration_seconds_count", operation="admin:campaigns")
    async with client() as c:
        await log_in(c, admin.username)
        response = await c.get("/admin/api/tables/campaigns/")
    assert response.status_code == 200
    assert sample("gatewaydb_query_duration_seconds_count", operation="admin:campaigns") > before


async def test_the_database_page_is_for_admins_and_shows_the_figures() -> None:
    admin = await create_login(admin=True)
    with observability.operation("test.page"):
        await DB.run_querystring(QueryString("SELECT 1"))
    async with client() as anonymous:
        refused = await anonymous.get("/admin/database/")
        assert refused.status_code == 303 and refused.headers["location"] == "/admin/"
    async with client() as c:
        await log_in(c, admin.username)
        page = await c.get("/admin/database/")
        links = (await c.get("/admin/api/links/")).json()
    assert page.status_code == 200
    assert "<svg" in page.text and "test.page" in page.text
    for heading in ("Largest tables", "Indexes never used", "Dead rows and vacuum", "Pool"):
        assert heading in page.text
    assert "<h2>Slowest statements</h2>" in page.text and "<th>mean ms</th>" in page.text
    assert links["Database"] == "/admin/database/"
