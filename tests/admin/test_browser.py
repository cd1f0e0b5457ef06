"""A real browser (Debian's Chromium through Playwright) edits a clip in the admin.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

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
USERNAME = "operator"
PASSWORD = "browser-test-password-1"


@dataclass(frozen=True)
class LiveAdmin:
    url: str
    seeded: dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_admin(migrated_database: str) -> Iterator[LiveAdmin]:
    """uvicorn serving the app on a free local port, against a seeded database."""
    env = {**os.environ, "DATABASE_URL": migrated_database, "GATEWAYDB_ENVIRONMENT": "test"}
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
            yield LiveAdmin(url=url, seeded=json.loads(seeded.stdout))
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


async def test_an_operator_edits_a_clip_rank_and_sees_it_audited(
    live_admin: LiveAdmin, chromium: str
) -> None:
    published = [c for c in live_admin.seeded["clips"] if c["status"] == "PUBLISHED"]
    scored = [c for c in live_admin.seeded["clips"] if c["status"] == "SCORED"]
    clip = published[0]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            # given an operator logged in
            await log_in(page, live_admin.url)
            # when they open Clips and filter by status
            await page.click("a[href='#/clips/']")
            await expect(page.get_by_text(scored[0]["id"])).to_be_visible()
            await page.click("[data-uitest=filter_button]")
            await page.select_option("select[name=status]", "PUBLISHED")
            await page.click("[data-uitest=submit_filter_button]")
            # then only published clips are listed
            await expect(page.get_by_text(scored[0]["id"])).to_have_count(0)
            for row in published:
                await expect(page.get_by_text(row["id"])).to_be_visible()
            # when they open a clip, change its rank and save
            await page.get_by_text(clip["id"]).click()
            rank = page.locator("input[name=rank]")
            await expect(rank).to_have_value(str(clip["rank"]))
            await rank.fill("42")
            await page.click("[data-uitest=save_button]")
            await expect(page.get_by_text("Successfully saved")).to_be_visible()
            # then the list shows the new rank
            await page.goto(f"{live_admin.url}/admin/#/clips/")
            await expect(page.get_by_role("cell", name="42", exact=True)).to_be_visible()
            # and the audit log has the change, old and new
            await page.click("a[href='#/audit_entries/']")
            entry = page.locator("tr", has_text=clip["id"])
            await expect(entry).to_contain_text("Update")
            await expect(entry).to_contain_text('"rank"')
            await expect(entry).to_contain_text("42")
            await expect(entry).to_contain_text(USERNAME)
            await page.screenshot(path=str(ARTIFACTS / "admin-clip-rank-audit.png"), full_page=True)
        except BaseException:
            await page.screenshot(path=str(ARTIFACTS / "admin-browser-failure.png"), full_page=True)
            raise
        finally:
            await browser.close()
