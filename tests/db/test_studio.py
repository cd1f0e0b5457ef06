"""`piccolo db studio`: serves the web app on the host and port asked for."""

from __future__ import annotations

import asyncio
import socket

import httpx

from tests.db.helpers import start_piccolo_db


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_studio_serves_the_web_app(migrated_database: str) -> None:
    # given a free port
    port = _free_port()
    # when studio starts on it
    process = start_piccolo_db(
        "studio", "--host=127.0.0.1", f"--port={port}", url=migrated_database
    )
    try:
        # then the web app answers there
        # (a loaded machine may take long to start it: wait up to 120 s, or until it exits)
        deadline = asyncio.get_running_loop().time() + 120
        response = None
        async with httpx.AsyncClient() as client:
            while response is None and process.poll() is None:
                assert asyncio.get_running_loop().time() < deadline, "studio never answered"
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        assert response is not None, f"studio exited: {process.communicate()[1]}"
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
    finally:
        process.terminate()
        process.communicate(timeout=30)
