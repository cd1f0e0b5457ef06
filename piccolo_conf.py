"""Piccolo's configuration: the engine and the app registry. Wiring only."""

from piccolo.conf.apps import AppRegistry

from apps.core.engine import build_engine
from apps.core.errors import GatewayError
from apps.db.targ_cli import install as install_cli

# `piccolo <group> <verb>`: group help, clean verb help, one `error:` line on failure.
install_cli()

try:
    DB = build_engine()
except GatewayError as error:
    # A bad DATABASE_URL or setting: one clear line for the CLI and the server, no traceback.
    raise SystemExit(f"error: {error}") from None

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
        "apps.core.piccolo_app",
        "apps.users.piccolo_app",
        "apps.media.piccolo_app",
        "apps.ads.piccolo_app",
        "apps.knowledge.piccolo_app",
        "apps.db.piccolo_app",
        "apps.audit.piccolo_app",
        "apps.legacy.piccolo_app",
    ]
)
