"""Every query is timed and counted under its operation; slow ones are logged without their
parameters."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from piccolo.querystring import QueryString

from apps.core import observability
from apps.core.observability import SLOW_QUERY_LOGGER
from apps.users.selectors import user_get_by_email
from apps.users.services import user_create
from piccolo_conf import DB
from tests.conftest import savepoint
from tests.observability.conftest import sample


def slow_query_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == SLOW_QUERY_LOGGER
    ]


async def test_a_slow_query_is_logged_with_its_operation_and_without_its_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a 50 ms threshold and a query carrying a personal value as a parameter
    observability.configure(slow_query_ms=50)
    secret_email = f"private-{secrets.token_hex(4)}@example.com"
    caplog.set_level(logging.WARNING, logger=SLOW_QUERY_LOGGER)
    # when it sleeps 0.1 s inside a labelled operation
    with observability.operation("test.slow_report"):
        rows = await DB.run_querystring(
            QueryString("SELECT pg_sleep({}), {} AS email", 0.1, secret_email)
        )
    # then one JSON line names the operation, the placeholders and the rows, never the value
    assert len(rows) == 1
    [line] = slow_query_lines(caplog)
    assert line["event"] == "slow_query"
    assert line["operation"] == "test.slow_report"
    assert line["rows"] == 1
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 100
    assert "pg_sleep($1)" in str(line["sql"]) and "$2" in str(line["sql"])
    assert secret_email not in caplog.text
    assert sample("gatewaydb_slow_queries_total", operation="test.slow_report") == 1


async def test_a_fast_query_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    observability.configure(slow_query_ms=10_000)
    caplog.set_level(logging.WARNING, logger=SLOW_QUERY_LOGGER)
    with observability.operation("test.fast"):
        await DB.run_querystring(QueryString("SELECT 1"))
    assert slow_query_lines(caplog) == []
    assert sample("gatewaydb_query_duration_seconds_count", operation="test.fast") == 1


async def test_a_service_and_a_selector_label_their_queries() -> None:
    # given a user created through the service
    before_create = sample("gatewaydb_query_duration_seconds_count", operation="user_create")
    email = f"label-{secrets.token_hex(4)}@example.com"
    await user_create(email=email, name="Label test")
    created_queries = (
        sample("gatewaydb_query_duration_seconds_count", operation="user_create") - before_create
    )
    # when the selector reads it
    before = sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email")
    before_seconds = sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email")
    user = await user_get_by_email(email=email)
    # then the queries of each call are counted under its name, once per statement
    assert user.email == email
    assert created_queries >= 1
    assert (
        sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email")
        == before + 1
    )
    assert (
        sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email")
        == before_seconds + 1
    )


async def test_the_outermost_operation_wins() -> None:
    # a selector called inside an admin request (or a command) counts under that request
    email = f"outer-{secrets.token_hex(4)}@example.com"
    await user_create(email=email, name="Outer")
    before = sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email")
    with observability.operation("admin:users"):
        await user_get_by_email(email=email)
    assert sample("gatewaydb_query_duration_seconds_count", operation="admin:users") >= 1
    assert sample("gatewaydb_query_duration_seconds_count", operation="user_get_by_email") == before


async def test_a_failed_query_is_counted_by_error_type() -> None:
    with (
        observability.operation("test.failing"),
        pytest.raises(Exception, match="division by zero"),
    ):
        async with savepoint():
            await DB.run_querystring(QueryString("SELECT 1 / 0"))
    assert (
        sample("gatewaydb_errors_total", operation="test.failing", type="DivisionByZeroError") == 1
    )


async def test_timing_can_be_turned_off() -> None:
    observability.configure(enabled=False)
    with observability.operation("test.disabled"):
        await DB.run_querystring(QueryString("SELECT 1"))
    assert sample("gatewaydb_query_duration_seconds_count", operation="test.disabled") == 0


async def test_the_history_keeps_the_last_hour_per_minute() -> None:
    history = observability.LatencyHistory(minutes=60)
    start = 1_800_000_000.0
    for second in range(0, 120, 2):  # two minutes of queries: 1 ms, then 30 ms
        history.observe("op", 0.001 if second < 60 else 0.03, now=start + second)
    history.observe("op", 0.001, now=start - 3600)  # an hour older: out of the window
    series = history.series(now=start + 119)
    points = series["op"]
    assert [p.count for p in points] == [30, 30]
    assert points[0].p95 == 0.001 and points[1].p50 == 0.05


def test_the_history_adds_up_a_minute_opened_twice_and_clears() -> None:
    # a clock stepping back and forth (or another thread's switch) opens a minute twice
    history = observability.LatencyHistory()
    start = 1_800_000_000.0
    for now in (start, start + 60, start, start + 60, start):
        history.observe("op", 0.002, now=now)
    points = history.series(now=start + 60)["op"]
    assert [(p.minute, p.count) for p in points] == [
        (int(start) // 60, 3),
        (int(start) // 60 + 1, 2),
    ]
    history.clear()
    assert history.series(now=start + 60) == {}
    history.observe("op", 0.002, now=start)
    assert [p.count for p in history.series(now=start)["op"]] == [1]


def test_record_query_feeds_the_totals_and_the_hour_alike() -> None:
    before = sample("gatewaydb_query_duration_seconds_count", operation="test.hot_path")
    with observability.operation("test.hot_path"):
        for _ in range(3):
            observability.record_query("SELECT 1", 0.0007, 1)
    after = sample("gatewaydb_query_duration_seconds_count", operation="test.hot_path")
    assert after - before == 3
    [point] = observability.HISTORY.series()["test.hot_path"][-1:]
    assert point.count >= 3 and point.p95 == 0.001


def test_the_latency_chart_is_inline_svg_of_the_busiest_operations() -> None:
    import xml.etree.ElementTree as ElementTree

    from apps.adminsite.observability import latency_chart

    history = observability.LatencyHistory()
    now = 1_800_000_000.0
    for minute in range(10):
        for index in range(9):
            history.observe(f"op{index}", 0.002 * (index + 1), now=now - 60 * minute)
    history.observe("rare <op>", 0.5, now=now)
    chart = latency_chart(history.series(now=now), now=now)
    svg, legend = chart.split("</svg>")
    root = ElementTree.fromstring(svg + "</svg>")
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 7  # the seven busiest operations, one colour each
    assert "rare &lt;op&gt;" not in legend and "op0" in legend
    assert all(len(line.attrib["points"].split()) == 10 for line in lines)


async def test_every_way_of_sending_a_statement_is_counted() -> None:
    # execute with and without arguments, executemany and fetch each count once
    connection = await DB.acquire_connection()
    try:
        with observability.operation("test.every_path"):
            await connection.execute("SELECT 1")
            await connection.execute("SELECT $1::int", 1)
            await connection.executemany("SELECT $1::int", [(1,), (2,)])
            rows = await connection.fetch("SELECT generate_series(1, $1::int)", 3)
    finally:
        await DB.release_connection(connection)
    assert len(rows) == 3
    assert sample("gatewaydb_query_duration_seconds_count", operation="test.every_path") == 4
