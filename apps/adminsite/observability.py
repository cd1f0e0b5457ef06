"""The admin's side of observability: the operation label of admin requests, the admin
session check that ``/metrics`` also accepts, and the "Database" page (``/admin/database/``):
pool, query latency by operation over the last hour (inline SVG), and the figures of
``piccolo db stats``.
"""

from __future__ import annotations

import html
import math
import re
import time
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.middleware import SessionsAuthBackend
from piccolo_api.session_auth.tables import SessionsBase
from starlette.authentication import AuthenticationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.core import observability
from apps.core.engine import GatewayEngine
from apps.core.observability import DEFAULT_OPERATION, LATENCY_BUCKETS, LatencyPoint
from apps.db.connection import project_engine
from apps.db.stats import StatsReport, database_stats

PAGE_PATH = "/admin/database/"
_ADMIN_PATH = re.compile(r"/api/(tables|forms)/([^/]+)")


class AdminOperationLabel:
    """Label an admin request's queries ``admin:<table>`` (``admin:form:<slug>``, ``admin``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or observability.operation_var.get() != DEFAULT_OPERATION:
            await self.app(scope, receive, send)
            return
        match = _ADMIN_PATH.search(scope["path"])
        if match is None:
            label = "admin"
        elif match.group(1) == "tables":
            label = f"admin:{match.group(2)}"
        else:
            label = f"admin:form:{match.group(2)}"
        token = observability.operation_var.set(label)
        try:
            await self.app(scope, receive, send)
        finally:
            observability.operation_var.reset(token)


_SESSIONS = SessionsAuthBackend(
    auth_table=BaseUser, session_table=SessionsBase, admin_only=True, active_only=True
)


async def has_admin_session(connection: HTTPConnection) -> bool:
    """Whether the request carries the session cookie of an active admin login."""
    try:
        return await _SESSIONS.authenticate(connection) is not None
    except AuthenticationError:
        return False


# --- the page -----------------------------------------------------------------------------

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
_CHART_OPERATIONS = len(_COLOURS)
_WIDTH, _HEIGHT, _LEFT, _BOTTOM = 720, 260, 60, 30


def latency_chart(series: dict[str, list[LatencyPoint]], *, now: float | None = None) -> str:
    """Inline SVG: p95 latency per minute of the busiest operations, last hour, log scale."""
    if not series:
        return "<p>No query in the last hour.</p>"
    busiest = sorted(series, key=lambda label: -sum(p.count for p in series[label]))
    chosen = busiest[:_CHART_OPERATIONS]
    current = int((time.time() if now is None else now) // 60)
    low, high = math.log10(LATENCY_BUCKETS[0]), math.log10(LATENCY_BUCKETS[-1])
    plot_w, plot_h = _WIDTH - _LEFT - 10, _HEIGHT - _BOTTOM - 10

    def x(minute: int) -> float:
        return _LEFT + plot_w * (59 - (current - minute)) / 59

    def y(seconds: float) -> float:
        return 10 + plot_h * (1 - (math.log10(seconds) - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        'role="img" aria-label="p95 query latency by operation, last hour" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{_LEFT}" y="10" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>',
    ]
    for bound in (0.001, 0.01, 0.1, 1.0):
        label = f"{bound * 1000:g} ms"
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(bound):.1f}" y2="{y(bound):.1f}" '
            f'stroke="#eee"/><text x="{_LEFT - 4}" y="{y(bound) + 4:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
    for ago in (60, 45, 30, 15, 0):
        parts.append(
            f'<text x="{x(current - ago):.1f}" y="{_HEIGHT - 10}" text-anchor="middle">'
            f"{'now' if ago == 0 else f'-{ago} min'}</text>"
        )
    for index, label in enumerate(chosen):
        colour = _COLOURS[index]
        points = " ".join(
            f"{x(p.minute):.1f},{y(p.p95):.1f}" for p in series[label] if current - p.minute < 60
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{html.escape(label)}</title></polyline>"
        )
        for p in series[label]:
            if current - p.minute < 60:
                parts.append(
                    f'<circle cx="{x(p.minute):.1f}" cy="{y(p.p95):.1f}" r="2.5" fill="{colour}">'
                    f"<title>{html.escape(label)}: {p.count} queries, p50 &lt;= "
                    f"{p.p50 * 1000:g} ms, p95 &lt;= {p.p95 * 1000:g} ms</title></circle>"
                )
    parts.append("</svg>")
    legend = "".join(
        f'<li><span style="color:{_COLOURS[i]}">&#9632;</span> {html.escape(label)} '
        f"({sum(p.count for p in series[label])} queries)</li>"
        for i, label in enumerate(chosen)
    )
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def operations_table(series: dict[str, list[LatencyPoint]]) -> str:
    """Every operation of the last hour: queries, and the worst minute's p95."""
    totals = sorted(
        ((label, sum(p.count for p in points), max(p.p95 for p in points)))
        for label, points in series.items()
    )
    totals.sort(key=lambda total: -total[1])
    rows: list[dict[str, Any]] = [
        {"operation": label, "queries": count, "worst_minute_p95_ms": f"{p95 * 1000:g}"}
        for label, count, p95 in totals
    ]
    return _table(rows, ("operation", "queries", "worst_minute_p95_ms"))


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(c, row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "never" if column.startswith("last_") else "-"
    if column.endswith("bytes"):
        size = float(value)
        for unit in ("B", "kB", "MB", "GB", "TB"):
            if size < 1024 or unit == "TB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
    return html.escape(" ".join(str(value).split()))


_SEQ_COLUMNS = ("table", "sequential_scans", "rows_read", "index_scans", "live_rows")


def render_page(report: StatsReport, *, pool: observability.PoolFigures) -> str:
    """The page's HTML (no script, no external resource)."""
    ratio = "-" if report.cache_hit_ratio is None else f"{report.cache_hit_ratio:.2%}"
    since = html.escape(report.stats_reset or "the server started")
    series = observability.HISTORY.series()
    statements = (
        _table(report.slowest_statements, ("mean_ms", "calls", "rows", "total_ms", "statement"))
        if report.statements_available
        else f"<p>{html.escape(report.statements_note)}</p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Database - Gateway admin</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 13px; }}
ul.legend {{ list-style: none; padding: 0; }}
</style></head><body>
<p><a href="/admin/">&larr; admin</a></p>
<h1>Database</h1>
<p>{html.escape(report.database)}: {_cell("bytes", report.database_bytes)};
cache hit ratio {ratio}; statistics since {since}.</p>
<h2>Pool ({html.escape(pool.node)})</h2>
<p>{pool.size} open of {pool.max_size}: {pool.in_use} in use, {pool.idle} idle,
{pool.waiting} caller(s) waiting.</p>
<h2>Query latency by operation, last hour (p95 per minute)</h2>
{latency_chart(series)}
<h2>Operations, last hour</h2>
{operations_table(series)}
<h2>Largest tables</h2>
{_table(report.largest_tables, ("table", "total_bytes", "table_bytes", "index_bytes", "live_rows"))}
<h2>Largest indexes</h2>
{_table(report.largest_indexes, ("index", "table", "bytes", "scans"))}
<h2>Indexes never used since the statistics were reset (unique ones left out)</h2>
{_table(report.unused_indexes, ("index", "table", "bytes"))}
<h2>Tables with many sequential scans</h2>
{_table(report.sequential_scans, _SEQ_COLUMNS)}
<h2>Dead rows and vacuum</h2>
{_table(report.dead_tuples, ("table", "dead_rows", "live_rows", "last_autovacuum", "last_vacuum"))}
<h2>Slowest statements</h2>
{statements}
</body></html>
"""


async def database_page(request: Request) -> Response:
    """``/admin/database/``: admins only; anyone else is sent to the admin login."""
    if not await has_admin_session(request):
        return RedirectResponse("/admin/", status_code=303)
    engine: GatewayEngine = project_engine()
    with observability.operation("admin:database"):
        report = await database_stats()
    return HTMLResponse(render_page(report, pool=observability.pool_figures(engine)))
