"""A cheap database check for ``/healthz`` and operators."""

from __future__ import annotations

from typing import Any

from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from apps.core.errors import DatabaseUnavailableError


async def database_health() -> dict[str, Any]:
    """Server version and pgvector version; raises :class:`DatabaseUnavailableError`."""
    engine = engine_finder()
    if engine is None:
        raise DatabaseUnavailableError("piccolo_conf.py defines no engine")
    rows = await engine.run_querystring(
        QueryString(
            "SELECT current_setting('server_version') AS server_version, "
            "(SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector"
        )
    )
    return dict(rows[0])
