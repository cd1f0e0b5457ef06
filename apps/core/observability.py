"""Query timing, the slow-query log, pool gauges and the in-process latency history.

Every query a :class:`~apps.core.session_state.GatewayConnection` runs is timed and counted
under the *operation* in effect: the qualified name of the public service or selector being
called (set once by ``@validated``, the outermost call wins), ``admin:<table>`` for an admin
request, ``cli:<verb>`` for a command, ``other`` for anything else. Parameter values are
never recorded (they hold personal data): the slow-query log has the SQL text with its
``$n`` placeholders, the operation, the duration and the rows returned.

The metrics live in a registry of their own (:data:`REGISTRY`), not prometheus-client's
global default, and are served by ``/metrics``. ``GATEWAYDB_METRICS_ENABLED=false`` turns
query timing off (the pool gauges, read when scraped, stay).
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

DEFAULT_OPERATION = "other"
SLOW_QUERY_LOGGER = "gatewaydb.slow_query"
# Seconds; the same bounds for the Prometheus histogram and the in-process history.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HISTORY_MINUTES = 60
# The longest SQL text the slow-query log keeps (a 500-row VALUES list is not worth a log line).
SLOW_SQL_MAX_CHARS = 2000

operation_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "gatewaydb_operation", default=DEFAULT_OPERATION
)
slow_query_log = logging.getLogger(SLOW_QUERY_LOGGER)


@dataclass
class Config:
    """What the hook does; :func:`configure` sets it from the settings."""

    enabled: bool = True
    slow_query_seconds: float = 0.2


config = Config()


def configure(*, enabled: bool | None = None, slow_query_ms: float | None = None) -> None:
    """Turn timing on or off and set the slow-query threshold (milliseconds).

    ``build_engine`` applies ``GATEWAYDB_METRICS_ENABLED`` and ``GATEWAYDB_SLOW_QUERY_MS``."""
    if enabled is not None:
        config.enabled = enabled
    if slow_query_ms is not None:
        config.slow_query_seconds = slow_query_ms / 1000


# --- operation labels ---------------------------------------------------------------------


@contextmanager
def operation(label: str) -> Iterator[None]:
    """Label the queries of the block ``label`` unless an outer block already labelled them."""
    if operation_var.get() != DEFAULT_OPERATION:
        yield
        return
    token = operation_var.set(label)
    try:
        yield
    finally:
        operation_var.reset(token)


def current_operation() -> str:
    return operation_var.get()


# --- metrics --------------------------------------------------------------------------------

REGISTRY = CollectorRegistry(auto_describe=True)

SLOW_QUERIES = Counter(
    "gatewaydb_slow_queries",
    "Queries slower than GATEWAYDB_SLOW_QUERY_MS, by operation.",
    ["operation"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "gatewaydb_errors",
    "Queries that failed, by operation and error type (the driver's exception class).",
    ["operation", "type"],
    registry=REGISTRY,
)
POOL_WAIT_SECONDS = Histogram(
    "gatewaydb_pool_wait_seconds",
    "Time callers waited for a pooled connection.",
    ["node"],
    buckets=(0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0),
    registry=REGISTRY,
)
POOL_TIMEOUTS = Counter(
    "gatewaydb_pool_timeouts",
    "Callers that gave up waiting for a pooled connection (PoolTimeoutError).",
    ["node"],
    registry=REGISTRY,
)
CONNECTION_ERRORS = Counter(
    "gatewaydb_connection_errors",
    "Connections that could not be made (DatabaseUnavailableError).",
    ["node"],
    registry=REGISTRY,
)


class _QueryDurations(Collector):
    """``gatewaydb_query_duration_seconds``, accumulated in plain per-operation lists.

    prometheus-client's ``Histogram.observe`` takes a lock and walks every bucket for each
    query; here :func:`flush` folds a batch of queries in (one ``bisect`` and two list
    additions each), and the cumulative buckets are built when ``/metrics`` is scraped.
    Each list holds one count per bucket of :data:`LATENCY_BUCKETS`, the overflow count,
    then the sum.
    """

    def __init__(self) -> None:
        self.by_operation: dict[str, list[float]] = {}

    def collect(self) -> Iterable[Any]:
        flush()
        family = HistogramMetricFamily(
            "gatewaydb_query_duration_seconds",
            "Time from sending a query to its last row, by operation (its _count counts the "
            "queries).",
            labels=["operation"],
        )
        bounds = [*(floatToGoString(b) for b in LATENCY_BUCKETS), "+Inf"]
        for label, counts in list(self.by_operation.items()):
            running, cumulative = 0.0, []
            for bound, count in zip(bounds, counts[:-1], strict=True):
                running += count
                cumulative.append((bound, running))
            family.add_metric([label], cumulative, sum_value=counts[-1])
        yield family


QUERY_DURATIONS = _QueryDurations()
_totals = QUERY_DURATIONS.by_operation
_BUCKET_SLOTS = len(LATENCY_BUCKETS) + 2  # the buckets, the overflow, the sum


# Queries recorded since the last flush, (operation, seconds), all in minute _pending_minute.
_pending: list[tuple[str, float]] = []
_pending_minute = -1
# At most this many queries wait to be folded in (a fold of a batch stays in the cache).
FLUSH_EVERY = 256


def record_query(query: str, seconds: float, rows: int) -> None:
    """Count and time one query; log it when slow. Never sees the parameters.

    The hot path of every query, so it does the least it can: a clock read, a context
    variable read and one list append; :func:`flush` folds the batch into the histograms
    (every :data:`FLUSH_EVERY` queries, when the minute changes, and before anything
    reads them: ``/metrics``, :meth:`LatencyHistory.series`). Measured in the service loop,
    touching the per-operation lists on every query cost about twice what a batch fold
    costs per query (their objects are cold by the time the next query ends).

    No lock: it runs on the event loop's thread, which runs one callback at a time, and it
    never awaits, so each call (and each flush) runs whole. A thread that records queries
    too may lose one to a flush running at the same time, never corrupt a figure.
    """
    global _pending_minute
    minute = int(_now()) // 60
    if minute != _pending_minute or len(_pending) >= FLUSH_EVERY:
        flush()
        _pending_minute = minute
    label = operation_var.get()
    _pending.append((label, seconds))
    if seconds >= config.slow_query_seconds:
        SLOW_QUERIES.labels(label).inc()
        log_slow_query(query, seconds=seconds, operation=label, rows=rows)


def flush() -> None:
    """Fold the queries recorded since the last flush into the totals and the hour."""
    global _pending
    if not _pending:
        return
    pending, _pending = _pending, []
    by_minute = HISTORY._start_minute(_pending_minute).by_operation
    for label, seconds in pending:
        index = bisect_left(LATENCY_BUCKETS, seconds)
        counts = _totals.get(label)
        if counts is None:
            counts = _totals.setdefault(label, [0.0] * _BUCKET_SLOTS)
        counts[index] += 1
        counts[-1] += seconds
        counts = by_minute.get(label)
        if counts is None:
            counts = by_minute.setdefault(label, [0.0] * _BUCKET_SLOTS)
        counts[index] += 1
        counts[-1] += seconds


REGISTRY.register(QUERY_DURATIONS)  # after flush(), which its first collect() calls


def record_query_error(query: str, seconds: float, error: BaseException) -> None:
    """Count a failed query by its error type (and time it like the others)."""
    label = operation_var.get()
    ERRORS.labels(label, type(error).__name__).inc()
    record_query(query, seconds, 0)


def log_slow_query(query: str, *, seconds: float, operation: str, rows: int) -> None:
    """One JSON line on the ``gatewaydb.slow_query`` logger (level WARNING)."""
    sql = " ".join(query.split())
    if len(sql) > SLOW_SQL_MAX_CHARS:
        sql = sql[:SLOW_SQL_MAX_CHARS] + "..."
    slow_query_log.warning(
        json.dumps(
            {
                "event": "slow_query",
                "duration_ms": round(seconds * 1000, 3),
                "operation": operation,
                "rows": rows,
                "sql": sql,
            }
        )
    )


# --- pools ----------------------------------------------------------------------------------


class PoolStats:
    """The pool's wait times, timeouts and connection errors (the callers waiting right now
    are counted by the engine itself, which needs that count for fairness)."""

    __slots__ = ("__weakref__", "_wait", "node")

    def __init__(self, node: str = "primary") -> None:
        self.node = node
        # The labelled child, once: labels() takes a lock and builds a tuple on every call.
        self._wait = POOL_WAIT_SECONDS.labels(node)

    def acquire_started(self) -> float:
        return time.perf_counter()

    def acquire_finished(self, started: float) -> None:
        self._wait.observe(time.perf_counter() - started)

    def acquire_failed(self, started: float, *, timed_out: bool) -> None:
        if timed_out:
            POOL_TIMEOUTS.labels(self.node).inc()
            self._wait.observe(time.perf_counter() - started)

    def connection_failed(self) -> None:
        CONNECTION_ERRORS.labels(self.node).inc()


_engines: weakref.WeakSet[Any] = weakref.WeakSet()


def watch_pool(engine: Any) -> None:
    """Report ``engine``'s pool (it has ``pool``, ``pool_max_size``, ``pool_stats`` and
    ``callers_waiting``)."""
    _engines.add(engine)


@dataclass(frozen=True)
class PoolFigures:
    node: str
    size: int
    max_size: int
    in_use: int
    idle: int
    waiting: int


def pool_figures(engine: Any) -> PoolFigures:
    """The figures of ``engine``'s pool now (all zero when it has none open)."""
    pool = engine.pool
    stats: PoolStats = engine.pool_stats
    if pool is None:
        return PoolFigures(stats.node, 0, engine.pool_max_size, 0, 0, engine.callers_waiting)
    size, idle = pool.get_size(), pool.get_idle_size()
    waiting = engine.callers_waiting
    return PoolFigures(stats.node, size, pool.get_max_size(), size - idle, idle, waiting)


class _PoolCollector(Collector):
    def collect(self) -> Iterable[Any]:
        families = {
            "size": GaugeMetricFamily(
                "gatewaydb_pool_size", "Open connections in the pool.", labels=["node"]
            ),
            "max_size": GaugeMetricFamily(
                "gatewaydb_pool_max_size", "The most connections the pool opens.", labels=["node"]
            ),
            "in_use": GaugeMetricFamily(
                "gatewaydb_pool_in_use", "Pooled connections lent out.", labels=["node"]
            ),
            "idle": GaugeMetricFamily(
                "gatewaydb_pool_idle", "Pooled connections free to lend.", labels=["node"]
            ),
            "waiting": GaugeMetricFamily(
                "gatewaydb_pool_waiting", "Callers waiting for a connection.", labels=["node"]
            ),
        }
        # Every engine of a node adds up (a process normally has one per node).
        totals: dict[str, dict[str, int]] = {}
        for engine in list(_engines):
            figures = pool_figures(engine)
            node = totals.setdefault(figures.node, dict.fromkeys(families, 0))
            for name in families:
                node[name] += getattr(figures, name)
        for node_name, values in totals.items():
            for name, family in families.items():
                family.add_metric([node_name], values[name])
        yield from families.values()


class _MigrationsCollector(Collector):
    """``gatewaydb_migrations_pending``: set by whoever last counted them (/metrics, /readyz)."""

    pending: int | None = None

    def collect(self) -> Iterable[Any]:
        family = GaugeMetricFamily(
            "gatewaydb_migrations_pending", "Migrations not applied to the database."
        )
        if self.pending is not None:
            family.add_metric([], self.pending)
        yield family


REGISTRY.register(_PoolCollector())
MIGRATIONS = _MigrationsCollector()
REGISTRY.register(MIGRATIONS)


# --- the last hour, in process --------------------------------------------------------------


@dataclass
class _Minute:
    minute: int
    by_operation: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class LatencyPoint:
    """One operation in one minute: its query count and estimated percentiles (seconds)."""

    minute: int
    count: int
    p50: float
    p95: float


class LatencyHistory:
    """Per-minute latency histograms by operation, for the last ``minutes`` minutes.

    Each minute keeps, per operation, one count per bucket of :data:`LATENCY_BUCKETS` (plus
    the overflow) and the sum: a few hundred bytes per operation and minute.

    Threading: no lock. Every method runs on the event loop's thread (the query hook, the
    admin page), which runs one callback at a time, and none of them awaits, so each runs
    whole and :meth:`series` never sees half an update. Should another thread record
    queries too (a driver used from a worker thread), the GIL keeps every container
    whole: :meth:`series` copies the minutes and each minute's operations in one C-level
    step before reading them, and the worst a thread switch inside :meth:`add` can do is
    lose one increment or open the same minute twice (its counts then split over two
    entries that :meth:`series` adds up).
    """

    def __init__(self, minutes: int = HISTORY_MINUTES) -> None:
        self._minutes: deque[_Minute] = deque(maxlen=minutes)
        self._latest: _Minute | None = None

    def observe(self, label: str, seconds: float, *, now: float | None = None) -> None:
        self.add(label, bisect_left(LATENCY_BUCKETS, seconds), seconds, now=now)

    def add(self, label: str, index: int, seconds: float, *, now: float | None = None) -> None:
        """:meth:`observe` with the bucket already found."""
        minute = int(_now() if now is None else now) // 60
        latest = self._latest
        if latest is None or latest.minute != minute:
            latest = self._start_minute(minute)
        counts = latest.by_operation.get(label)
        if counts is None:
            counts = latest.by_operation.setdefault(label, [0.0] * _BUCKET_SLOTS)
        counts[index] += 1
        counts[-1] += seconds

    def _start_minute(self, minute: int) -> _Minute:
        """The entry of ``minute``, opened (the oldest falls off) unless it is the latest."""
        latest = self._latest
        if latest is not None and latest.minute == minute:
            return latest
        latest = _Minute(minute)
        self._minutes.append(latest)
        self._latest = latest
        return latest

    def series(self, *, now: float | None = None) -> dict[str, list[LatencyPoint]]:
        """Per operation, the minutes of the last hour that saw queries, oldest first."""
        if self is HISTORY:
            flush()  # the queries recorded since the last fold
        oldest = int((time.time() if now is None else now) // 60) - self._minutes.maxlen + 1  # type: ignore[operator]
        # One minute's figures per operation (a minute opened twice is added up).
        merged: dict[str, dict[int, list[float]]] = {}
        for entry in list(self._minutes):
            if entry.minute < oldest:
                continue
            for label, counts in list(entry.by_operation.items()):
                per_minute = merged.setdefault(label, {})
                known = per_minute.get(entry.minute)
                if known is None:
                    per_minute[entry.minute] = list(counts)
                else:
                    per_minute[entry.minute] = [a + b for a, b in zip(known, counts, strict=True)]
        result: dict[str, list[LatencyPoint]] = {}
        for label, per_minute in merged.items():
            for minute in sorted(per_minute):
                buckets = per_minute[minute][:-1]
                total = int(sum(buckets))
                result.setdefault(label, []).append(
                    LatencyPoint(
                        minute,
                        total,
                        _quantile(buckets, total, 0.5),
                        _quantile(buckets, total, 0.95),
                    )
                )
        return result

    def clear(self) -> None:
        """Forget the hour (``_latest`` first: a query recorded meanwhile opens a new minute)."""
        self._latest = None
        self._minutes.clear()


def _quantile(buckets: list[float], total: int, q: float) -> float:
    """The upper bound of the bucket holding quantile ``q`` (the overflow: the last bound)."""
    rank, seen = q * total, 0.0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank and count:
            return LATENCY_BUCKETS[min(index, len(LATENCY_BUCKETS) - 1)]
    return LATENCY_BUCKETS[-1]


_now = time.time
HISTORY = LatencyHistory()
