"""Piccolo's configuration: the engine and the app registry. Wiring only."""

from piccolo.conf.apps import AppRegistry

from apps.core.engine import build_engine

DB = build_engine()

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
    ]
)
