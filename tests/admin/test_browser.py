"""A real browser (Debian's Chromium through Playwright) uses the admin as an operator.

The admin runs in a uvicorn subprocess against a database of its own (its writes must be
committed to be seen), seeded by ``tests.admin.browser_seed``. Chromium must be installed
(``make test`` installs it): without it this test fails, it never skips.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from apps.core.dburl import parse_database_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOGIN_ATTEMPTS = 3
USERNAME = "operator"
PASSWORD = "browser-test-password-1"


@dataclass(frozen=True)
class LiveAdmin:
    url: str
    seeded: dict[str, Any]
    database_url: str

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        """A row read straight from the admin's database (what it really stored)."""
        connection = await asyncpg.connect(parse_database_url(self.database_url).dsn)
        try:
            row = await connection.fetchrow(sql, *args)
        finally:
            await connection.close()
        assert row is not None
        return dict(row)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_admin(migrated_database: str) -> Iterator[LiveAdmin]:
    """uvicorn serving the app on a free local port, against a seeded database."""
    env = {
        **os.environ,
        "DATABASE_URL": migrated_database,
        "GATEWAYDB_ENVIRONMENT": "test",
        "GATEWAYDB_ADMIN_LOGIN_ATTEMPTS": str(LOGIN_ATTEMPTS),
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.admin.browser_seed", USERNAME, PASSWORD],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-proxy-headers",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError(f"uvicorn did not start:\n{log.read().decode()}")
                time.sleep(0.1)
            yield LiveAdmin(
                url=url, seeded=json.loads(seeded.stdout), database_url=migrated_database
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


async def log_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/admin/")
    await page.fill("input[name=username]", USERNAME)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("[data-uitest=login_button]")
    await expect(page.locator("a[href='#/clips/']")).to_be_visible()


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium; missing means failure (never a skip), locally and in CI."""
    assert CHROMIUM.exists(), (
        "Chromium is missing: apt-get install -y chromium (the admin browser test needs it)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    return str(CHROMIUM)


async def save(page: Page) -> None:
    """Click save and wait for the admin's answer (a fresh message, success or error)."""
    async with page.expect_response(lambda r: r.request.method == "PATCH"):
        await page.click("[data-uitest=save_button]")


async def test_an_operator_cannot_edit_what_the_services_refuse(
    live_admin: LiveAdmin, chromium: str
) -> None:
    seeded = live_admin.seeded
    published = [c for c in seeded["clips"] if c["status"] == "PUBLISHED"]
    scored = [c for c in seeded["clips"] if c["status"] == "SCORED"]
    clip = published[0]
    clip_sql = "SELECT rank, status, metadata, created_at, updated_at FROM clips WHERE id = $1"
    audit_sql = "SELECT count(*) AS n FROM audit_entries WHERE row_id = $1"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            # given an operator logged in
            await log_in(page, live_admin.url)
            # when they open Clips and filter by status, then only published clips are listed
            await page.click("a[href='#/clips/']")
            await expect(page.get_by_text(scored[0]["id"])).to_be_visible()
            await page.click("[data-uitest=filter_button]")
            await page.select_option("select[name=status]", "PUBLISHED")
            await page.click("[data-uitest=submit_filter_button]")
            await expect(page.get_by_text(scored[0]["id"])).to_have_count(0)
            for row in published:
                await expect(page.get_by_text(row["id"])).to_be_visible()
            # when they open a clip: its rank, status and timestamps are shown, read only
            before = await live_admin.fetchrow(clip_sql, uuid.UUID(clip["id"]))
            await page.get_by_text(clip["id"]).click()
            await expect(page.locator("textarea[name=metadata]")).to_be_visible()
            for field in ("rank", "status", "score"):
                await expect(page.locator(f"form [name={field}]").first).to_be_disabled()
            await expect(page.locator("form [name=rank]").first).to_have_value(str(clip["rank"]))
            # and saving the untouched form writes nothing and audits nothing
            await save(page)
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            assert await live_admin.fetchrow(clip_sql, uuid.UUID(clip["id"])) == before
            assert (await live_admin.fetchrow(audit_sql, clip["id"]))["n"] == 0

            # when they type a mixed-case email for a user, the users service lower-cases it
            user_sql = "SELECT email, updated_at FROM users WHERE id = $1"
            await page.goto(f"{live_admin.url}/admin/#/users/{seeded['user']}/")
            email = page.locator("form [name=email]").first
            await expect(email).not_to_have_value("")
            await email.fill("Demo2@Gateway.example")
            await save(page)
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            stored = await live_admin.fetchrow(user_sql, uuid.UUID(seeded["user"]))
            assert stored["email"] == "demo2@gateway.example"
            # and an email with a space is refused on the field, in the service's words
            await email.fill("demo 2@gateway.example")
            await save(page)
            await expect(
                page.get_by_text("email field - email must look like name@domain.tld")
            ).to_be_visible()
            await expect(page.get_by_text("violates")).to_have_count(0)
            assert await live_admin.fetchrow(user_sql, uuid.UUID(seeded["user"])) == stored

            # when they open the ACTIVE campaign: status and totals cannot be typed in
            campaign_sql = "SELECT status, budget, total_spend FROM campaigns WHERE id = $1"
            campaign_id = uuid.UUID(seeded["campaign"])
            campaign_before = await live_admin.fetchrow(campaign_sql, campaign_id)
            await page.goto(f"{live_admin.url}/admin/#/campaigns/{seeded['campaign']}/")
            budget = page.locator("form [name=budget]").first
            await expect(budget).to_be_visible()
            for field in ("status", "total_spend", "total_conversions"):
                await expect(page.locator(f"form [name={field}]").first).to_be_disabled()
            # and a negative budget is refused by the ads service, on the field
            await budget.fill("-5")
            await save(page)
            await expect(page.get_by_text("budget field - budget")).to_be_visible()
            assert await live_admin.fetchrow(campaign_sql, campaign_id) == campaign_before
            await page.screenshot(path=str(ARTIFACTS / "admin-refused-edit.png"), full_page=True)

            # when the status form is asked ACTIVE -> DRAFT, the state machine refuses it
            await page.goto(f"{live_admin.url}/admin/#/forms/change-a-campaign's-status/")
            await page.locator("form [name=campaign_id]").fill(seeded["campaign"])
            status = page.locator("form [name=status]")
            if await status.evaluate("e => e.tagName") == "SELECT":
                await status.select_option("DRAFT")
            else:
                await status.fill("DRAFT")
            await page.click("form button")
            await expect(page.get_by_text("ACTIVE campaign cannot become DRAFT")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "admin-status-form.png"), full_page=True)
            assert (await live_admin.fetchrow(campaign_sql, campaign_id))["status"] == "ACTIVE"

            # when someone keeps failing to log in, the login page says when to try again
            other = await browser.new_page()
            await other.goto(f"{live_admin.url}/admin/")
            for _ in range(LOGIN_ATTEMPTS + 1):
                await other.fill("input[name=username]", USERNAME)
                await other.fill("input[name=password]", "wrong-password")
                await other.click("[data-uitest=login_button]")
                await other.wait_for_timeout(300)
            await expect(other.locator("#login-retry-notice")).to_contain_text(
                "Too many failed logins. Try again in"
            )
            await other.screenshot(path=str(ARTIFACTS / "admin-login-blocked.png"))
        except BaseException:
            await page.screenshot(path=str(ARTIFACTS / "admin-browser-failure.png"), full_page=True)
            raise
        finally:
            await browser.close()
