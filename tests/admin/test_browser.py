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
from decimal import Decimal
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


# What an operator can do with the browser's developer tools: re-enable a read-only input,
# give it a value and save, in one go (before the page's script disables it again).
FORCE_AND_SAVE = """([name, value]) => {
  const input = document.querySelector(`form [name="${name}"]`);
  input.disabled = false;
  if (input.tagName === "SELECT" && ![...input.options].some(o => o.value === value)) {
    input.add(new Option(value, value));
  }
  input.value = value;
  input.dispatchEvent(new Event("input", {bubbles: true}));
  input.dispatchEvent(new Event("change", {bubbles: true}));
  document.querySelector("[data-uitest=save_button]").click();
}"""


async def open_row(page: Page, url: str, table: str, row_id: str, loaded: str) -> None:
    """The edit page of a row, its read-only inputs disabled by the page's script."""
    await page.goto(f"{url}/admin/#/{table}/{row_id}/")
    await page.reload()
    await expect(page.locator(f"form [name={loaded}]").first).to_be_disabled()


async def force(page: Page, field: str, value: str) -> None:
    """Re-enable a read-only field, type ``value`` and save; the server must refuse it."""
    async with page.expect_response(lambda r: r.request.method == "PATCH") as answer:
        await page.evaluate(FORCE_AND_SAVE, [field, value])
    assert (await answer.value).status == 422


async def submit_form(
    page: Page, url: str, slug: str, picked: dict[str, str], typed: dict[str, str] | None = None
) -> None:
    """Fill one of the admin's custom forms and submit it: ``picked`` fields are chosen in
    their select (the row pickers, the statuses), ``typed`` ones typed in."""
    await page.goto(f"{url}/admin/#/forms/{slug}/")
    await page.reload()
    for name, value in picked.items():
        await page.locator(f"select[data-picker-for={name}]").select_option(value)
    for name, value in (typed or {}).items():
        await page.locator(f"form [name={name}]").fill(value)
    async with page.expect_response(lambda r: r.request.method == "POST"):
        await page.click("form button[type=submit], [data-uitest=submit_custom_form_button]")


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
            campaign_sql = (
                "SELECT status, budget, total_spend, total_conversions, updated_at"
                " FROM campaigns WHERE id = $1"
            )
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

            # when they force the status or a running total in the edit form anyway,
            # the admin refuses it on the field, naming the form that changes it
            await open_row(page, live_admin.url, "campaigns", seeded["campaign"], "status")
            await force(page, "status", "DRAFT")
            await expect(
                page.get_by_text(
                    "status field - status is read only here: "
                    "use the form 'Change a campaign's status'"
                )
            ).to_be_visible()
            await force(page, "total_spend", "999.00")
            await expect(
                page.get_by_text("total_spend field - total_spend is read only here")
            ).to_be_visible()
            assert await live_admin.fetchrow(campaign_sql, campaign_id) == campaign_before
            # and a DRAFT campaign cannot be made COMPLETED in its edit form either
            draft_id = uuid.UUID(seeded["draft_campaign"])
            draft_before = await live_admin.fetchrow(campaign_sql, draft_id)
            await open_row(page, live_admin.url, "campaigns", str(draft_id), "status")
            await force(page, "status", "COMPLETED")
            await expect(
                page.get_by_text("status field - status is read only here")
            ).to_be_visible()
            assert await live_admin.fetchrow(campaign_sql, draft_id) == draft_before

            # when the status form is asked ACTIVE -> DRAFT or DRAFT -> COMPLETED, the
            # state machine refuses it
            slug = "change-a-campaign's-status"
            # (the campaign is picked from a list that names it, not pasted)
            await page.goto(f"{live_admin.url}/admin/#/forms/{slug}/")
            await page.reload()
            picker = page.locator("select[data-picker-for=campaign_id]")
            await expect(picker.locator("option", has_text="Spring · ACTIVE")).to_have_count(1)
            await expect(picker.locator("option", has_text="Summer · DRAFT")).to_have_count(1)
            await submit_form(
                page, live_admin.url, slug, {"campaign_id": seeded["campaign"], "status": "DRAFT"}
            )
            await expect(page.get_by_text("an ACTIVE campaign cannot become DRAFT")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "admin-status-form.png"), full_page=True)
            await submit_form(
                page, live_admin.url, slug, {"campaign_id": str(draft_id), "status": "COMPLETED"}
            )
            await expect(
                page.get_by_text("a DRAFT campaign cannot become COMPLETED")
            ).to_be_visible()
            assert await live_admin.fetchrow(campaign_sql, campaign_id) == campaign_before
            assert await live_admin.fetchrow(campaign_sql, draft_id) == draft_before

            # when they force a READY asset back to PENDING: refused in the edit form and
            # by the asset state machine in its form
            asset_sql = "SELECT status, updated_at FROM assets WHERE id = $1"
            asset_id = uuid.UUID(seeded["asset"])
            asset_before = await live_admin.fetchrow(asset_sql, asset_id)
            assert asset_before["status"] == "READY"
            await open_row(page, live_admin.url, "assets", seeded["asset"], "status")
            await force(page, "status", "PENDING")
            await expect(
                page.get_by_text(
                    "status field - status is read only here: "
                    "use the form 'Change an asset's status'"
                )
            ).to_be_visible()
            await submit_form(
                page,
                live_admin.url,
                "change-an-asset's-status",
                {"asset_id": seeded["asset"], "status": "PENDING"},
            )
            await expect(page.get_by_text("a READY asset cannot become PENDING")).to_be_visible()
            assert await live_admin.fetchrow(asset_sql, asset_id) == asset_before

            # when they complete a RUNNING experiment with no winner: refused in the edit
            # form, and by the ads service in the status form
            experiment_sql = (
                "SELECT status, winner_variant_id, updated_at FROM experiments WHERE id = $1"
            )
            experiment_id = uuid.UUID(seeded["experiment"])
            experiment_before = await live_admin.fetchrow(experiment_sql, experiment_id)
            await open_row(page, live_admin.url, "experiments", seeded["experiment"], "status")
            await force(page, "status", "COMPLETED")
            await expect(
                page.get_by_text(
                    "status field - status is read only here: use the forms "
                    "'Change an experiment's status' and 'Pick an experiment's winner'"
                )
            ).to_be_visible()
            await force(page, "winner_variant_id", "a")
            await expect(
                page.get_by_text("winner_variant_id field - winner_variant_id is read only here")
            ).to_be_visible()
            await submit_form(
                page,
                live_admin.url,
                "change-an-experiment's-status",
                {"experiment_id": seeded["experiment"], "status": "COMPLETED"},
            )
            await expect(
                page.get_by_text("a RUNNING experiment becomes COMPLETED only with a winner")
            ).to_be_visible()
            assert await live_admin.fetchrow(experiment_sql, experiment_id) == experiment_before

            # when they change a day's spend from 121.00 to 1000.00, roas follows (it is
            # computed by the ads service, never typed in)
            metric_sql = "SELECT spend, revenue, roas FROM performance_metrics WHERE id = $1"
            metric_id = uuid.UUID(seeded["metric"])
            metric_before = await live_admin.fetchrow(metric_sql, metric_id)
            assert (metric_before["spend"], metric_before["roas"]) == (
                Decimal("121.00"),
                Decimal("4.13"),
            )
            await open_row(page, live_admin.url, "performance_metrics", seeded["metric"], "roas")
            await force(page, "roas", "9.99")
            await expect(
                page.get_by_text("roas field - roas is read only here: computed")
            ).to_be_visible()
            assert await live_admin.fetchrow(metric_sql, metric_id) == metric_before
            await open_row(page, live_admin.url, "performance_metrics", seeded["metric"], "roas")
            await page.locator("form [name=spend]").fill("1000.00")
            await save(page)
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            metric_after = await live_admin.fetchrow(metric_sql, metric_id)
            assert (metric_after["spend"], metric_after["roas"]) == (
                Decimal("1000.00"),
                Decimal("0.50"),
            )

            # when they type a prediction's actual_roas: refused, prediction_error is the
            # media service's (the 'Record a prediction's actual figures' form)
            prediction_sql = (
                "SELECT actual_roas, prediction_error, updated_at FROM predictions WHERE id = $1"
            )
            prediction_id = uuid.UUID(seeded["prediction"])
            prediction_before = await live_admin.fetchrow(prediction_sql, prediction_id)
            await open_row(page, live_admin.url, "predictions", seeded["prediction"], "actual_roas")
            await force(page, "actual_roas", "3.5")
            await expect(
                page.get_by_text(
                    "actual_roas field - actual_roas is read only here: "
                    "use the form 'Record a prediction's actual figures'"
                )
            ).to_be_visible()
            await force(page, "prediction_error", "0.1")
            await expect(
                page.get_by_text("prediction_error field - prediction_error is read only here")
            ).to_be_visible()
            assert await live_admin.fetchrow(prediction_sql, prediction_id) == prediction_before
            # and the form picks the prediction (listed: it has no actual figures yet) and
            # the media service computes prediction_error
            await submit_form(
                page,
                live_admin.url,
                "record-a-prediction's-actual-figures",
                {"prediction_id": seeded["prediction"]},
                typed={"actual_roas": "2.5"},
            )
            await expect(page.get_by_text(f"Prediction {prediction_id}: error")).to_be_visible()
            recorded = await live_admin.fetchrow(prediction_sql, prediction_id)
            assert recorded["actual_roas"] == 2.5
            assert recorded["prediction_error"] is not None

            # when they type a clip's rank: refused
            await open_row(page, live_admin.url, "clips", clip["id"], "rank")
            await force(page, "rank", "7")
            await expect(page.get_by_text("rank field - rank is read only here")).to_be_visible()
            assert await live_admin.fetchrow(clip_sql, uuid.UUID(clip["id"])) == before

            # when they open a knowledge document: version and embedding_model are refused,
            # and saving it untouched makes no new version, no re-embedding, no audit entry
            document_sql = (
                "SELECT name, content, version, embedding_model, embedding::text AS embedding,"
                " updated_at FROM knowledge_documents WHERE id = $1"
            )
            versions_sql = (
                "SELECT count(*) AS n FROM knowledge_document_versions WHERE document_id = $1"
            )
            document_id = uuid.UUID(seeded["document"])
            document_before = await live_admin.fetchrow(document_sql, document_id)
            await open_row(
                page, live_admin.url, "knowledge_documents", seeded["document"], "version"
            )
            await expect(page.locator("form [name=content]").first).to_have_value(
                "Return on ad spend.\nSecond line."
            )
            await save(page)
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            await force(page, "version", "7")
            await expect(
                page.get_by_text("version field - version is read only here")
            ).to_be_visible()
            await force(page, "embedding_model", "other-model")
            await expect(
                page.get_by_text("embedding_model field - embedding_model is read only here")
            ).to_be_visible()
            assert await live_admin.fetchrow(document_sql, document_id) == document_before
            assert (await live_admin.fetchrow(versions_sql, document_id))["n"] == 0
            assert (await live_admin.fetchrow(audit_sql, seeded["document"]))["n"] == 0

            # and saving an untouched campaign writes nothing and audits nothing
            await open_row(page, live_admin.url, "campaigns", seeded["campaign"], "status")
            await save(page)
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            assert await live_admin.fetchrow(campaign_sql, campaign_id) == campaign_before
            assert (await live_admin.fetchrow(audit_sql, seeded["campaign"]))["n"] == 0

            # when a clip is soft-deleted, the restore form lists it (with its table) and
            # brings it back when picked
            deleted_id = uuid.UUID(scored[-1]["id"])
            await live_admin.fetchrow(
                "UPDATE clips SET deleted_at = now() WHERE id = $1 RETURNING id", deleted_id
            )
            await page.goto(f"{live_admin.url}/admin/#/forms/restore-a-deleted-row/")
            await page.reload()
            await expect(
                page.locator("select[data-picker-for=row_id] option", has_text=str(deleted_id))
            ).to_contain_text("clips · clip #")
            await submit_form(
                page, live_admin.url, "restore-a-deleted-row", {"row_id": str(deleted_id)}
            )
            await expect(page.get_by_text(f"Restored clips {deleted_id}")).to_be_visible()
            restored = await live_admin.fetchrow(
                "SELECT deleted_at FROM clips WHERE id = $1", deleted_id
            )
            assert restored["deleted_at"] is None

            # when someone keeps failing to log in, the login page says when to try again
            other = await browser.new_page()
            await other.goto(f"{live_admin.url}/admin/")
            for _ in range(LOGIN_ATTEMPTS + 1):
                await other.fill("input[name=username]", USERNAME)
                await other.fill("input[name=password]", "wrong-password")
                async with other.expect_response(lambda r: "public/login" in r.url):
                    await other.click("[data-uitest=login_button]")
            await expect(other.locator("#login-retry-notice")).to_contain_text(
                "Too many failed logins. Try again in"
            )
            await other.screenshot(path=str(ARTIFACTS / "admin-login-blocked.png"))
        except BaseException:
            await page.screenshot(path=str(ARTIFACTS / "admin-browser-failure.png"), full_page=True)
            raise
        finally:
            await browser.close()
