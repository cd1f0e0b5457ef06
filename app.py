"""The ASGI app served by uvicorn: the admin at ``/admin/``, ``/healthz``; the lifespan
opens and closes the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route

from apps.adminsite.security import LoginAttempts, LoginRateLimit, SecureCookiesMiddleware
from apps.adminsite.selectors import admin_login_active
from apps.adminsite.site import build_admin
from apps.core.errors import GatewayError
from apps.core.health import database_health
from apps.core.settings import Settings, get_settings
from piccolo_conf import DB


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await DB.start_connection_pool()
    try:
        yield
    finally:
        await DB.close_connection_pool()


async def index(request: Request) -> RedirectResponse:
    return RedirectResponse("/admin/", status_code=307)


async def healthz(request: Request) -> JSONResponse:
    try:
        report = await database_health()
    except GatewayError as error:
        return JSONResponse({"status": "error", "error": error.as_dict()}, status_code=503)
    return JSONResponse({"status": "ok", **report})


def create_app(settings: Settings | None = None) -> Starlette:
    """The web app for ``settings`` (the process settings by default)."""
    settings = settings or get_settings()
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts),
        Middleware(
            LoginRateLimit,
            path="/admin/public/login/",
            attempts=LoginAttempts(
                attempts=settings.admin_login_attempts,
                window=settings.admin_login_window_seconds,
            ),
            trusted_proxies=settings.admin_trusted_proxies,
            login_active=admin_login_active,
        ),
    ]
    if settings.is_production:
        middleware.append(Middleware(SecureCookiesMiddleware))
    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Mount("/admin/", build_admin(settings)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


app = create_app()
