"""The web app answers its health check with the server's versions."""

import httpx

from app import app


async def test_healthz_reports_the_database() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["server_version"].startswith("18.")
    assert body["pgvector"].startswith("0.8")
