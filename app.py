"""The ASGI app served by uvicorn: lifespan opens and closes the pool; ``/healthz``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from apps.core.errors import GatewayError
from apps.core.health import database_health
from piccolo_conf import DB


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await DB.start_connection_pool()
    try:
        yield
    finally:
        await DB.close_connection_pool()


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse("gatewaydb is running; see /healthz\n")


async def healthz(request: Request) -> JSONResponse:
    try:
        report = await database_health()
    except GatewayError as error:
        return JSONResponse({"status": "error", "error": error.as_dict()}, status_code=503)
    return JSONResponse({"status": "ok", **report})


app = Starlette(
    routes=[Route("/", index), Route("/healthz", healthz)],
    lifespan=lifespan,
)
