"""The ASGI app served by uvicorn: the admin at ``/admin/``, ``/healthz``, ``/readyz`` and
``/metrics``; the lifespan opens and closes the pool."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from apps.adminsite.observability import PAGE_PATH, database_page, has_admin_session
from apps.adminsite.security import LoginAttempts, LoginRateLimit, SecureCookiesMiddleware
from apps.adminsite.selectors import admin_login_active
from apps.adminsite.site import build_admin
from apps.core import observability
from apps.core.errors import GatewayError
from apps.core.health import database_health
from apps.core.settings import Settings, get_settings
from apps.db.stats import pending_migrations
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


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and every migration is applied."""
    try:
        await database_health()
        pending = await pending_migrations()
    except GatewayError as error:
        return JSONResponse(
            {"status": "unavailable", "reason": error.message, "error": error.as_dict()},
            status_code=503,
        )
    if pending:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": f"{len(pending)} migration(s) pending: run `piccolo db deploy`",
                "pending_migrations": pending,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok"})


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics``: the Prometheus text format, for an admin session or the bearer token."""
    token = settings.metrics_token.get_secret_value().encode() if settings.metrics_token else None

    def bearer_matches(request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if token is None or scheme.lower() != "bearer" or not given:
            return False
        return hmac.compare_digest(given.strip().encode(), token)

    async def metrics(request: Request) -> Response:
        if not (bearer_matches(request) or await has_admin_session(request)):
            return JSONResponse(
                {
                    "status": "error",
                    "error": "an admin session or the metrics bearer token is required",
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        # Refreshes gatewaydb_migrations_pending; with the database down the other figures
        # still say so.
        with contextlib.suppress(GatewayError):
            await pending_migrations()
        return Response(generate_latest(observability.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return metrics


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
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(settings)),
            Route(PAGE_PATH, database_page),
            Mount("/admin/", build_admin(settings)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


app = create_app()
