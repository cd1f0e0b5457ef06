"""How rows cross: binary COPY where every cast gives what the text route gives, else text."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from apps.legacy import importer
from apps.legacy.errors import SourceLostError
from apps.legacy.importer import ImportReport, _binary_select, _BinaryRows, _plan, import_prisma
from apps.legacy.spec import TABLE_NAMES


@pytest.mark.parametrize(
    ("source_type", "staging_type", "expected"),
    [
        ("text", "text", '("x")::text'),
        ('"ClipStatus"', "text", '("x")::text'),  # an enum: its label, as text COPY sends it
        ("character varying(255)", "text", '("x")::text'),
        ("timestamp(3) without time zone", "timestamp with time zone", '"x"'),
        ("numeric(10,2)", "numeric(12,2)", '("x")::numeric(12,2)'),
        ("integer", "bigint", '("x")::bigint'),
        ("json", "jsonb", '("x")::jsonb'),
        ("double precision[]", "double precision[]", '("x")::double precision[]'),
        ("text[]", "text[]", '("x")::text[]'),
        # a float cast to numeric rounds to 15 digits, its text keeps 17: text COPY instead
        ("double precision", "numeric(12,2)", None),
        ("bigint", "integer", None),
        ("text", "integer", None),
        ("timestamp with time zone", "date", None),
    ],
)
def test_a_column_crosses_in_binary_only_by_a_cast_that_changes_nothing(
    source_type: str, staging_type: str, expected: str | None
) -> None:
    assert _binary_select('"x"', source_type, staging_type) == expected


async def test_a_table_with_one_unsafe_column_crosses_as_text_with_the_same_values(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    # given a source whose conversions hold their value as a float (a hand-altered column)
    await source.execute('ALTER TABLE conversions ALTER COLUMN "value" TYPE double precision')
    await source.execute(
        'UPDATE conversions SET "value" = 0.30000000000000004 WHERE id = '
        '(SELECT id FROM conversions WHERE "value" IS NOT NULL ORDER BY id LIMIT 1)'
    )
    # then that table is planned as text, every other one as binary
    plans = {plan.spec.name: plan for plan in await _plan(source, target, ImportReport())}
    assert not plans["conversions"].binary
    assert all(plans[name].binary for name in TABLE_NAMES if name != "conversions")
    # and the import brings every value across as the text route reads it
    report = await import_prisma(source=source, target=target)
    assert report.committed
    expected = {
        row[0]: row[1]
        for row in await source.fetch(
            'SELECT id, "value"::text::numeric(12,2) FROM conversions WHERE "value" >= 0'
        )
    }
    got = {row[0]: row[1] for row in await target.fetch("SELECT id::text, value FROM conversions")}
    common = expected.keys() & got.keys()
    assert len(common) > 100
    assert all(got[key] == expected[key] for key in common)
    assert Decimal("0.30") in {expected[key] for key in common}


async def test_progress_rises_to_each_tables_exact_count(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(table: str, done: int, total: int) -> None:
        seen.setdefault(table, []).append((done, total))

    report = await import_prisma(source=source, target=target, progress=progress)
    assert set(seen) == set(TABLE_NAMES)
    for table, calls in seen.items():
        done = [call[0] for call in calls]
        assert done == sorted(done), table  # never backwards
        assert all(0 <= call[0] <= call[1] for call in calls), table
        # the last call is the COPY's own count: every row of the table
        assert calls[-1] == (report.tables[table].source, report.tables[table].source), table


async def test_the_binary_row_estimate_learns_from_the_first_rows(
    source: asyncpg.Connection,
) -> None:
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    await source.copy_from_query(
        'SELECT id, "startTime", features FROM clips', output=collect, format="binary"
    )
    rows = await source.fetchval("SELECT count(*) FROM clips")
    counter = _BinaryRows()
    estimates = [counter.add(chunk) for chunk in chunks]
    # the whole stream (the 2-byte trailer aside) over the rows' mean size: close to the count
    assert estimates == sorted(estimates)
    assert abs(estimates[-1] - rows) <= rows * 0.25, (estimates[-1], rows)


async def test_a_small_read_ahead_allowance_only_slows_the_reading(
    source: asyncpg.Connection, target: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an allowance smaller than one table's rows: the source waits for the target
    monkeypatch.setattr(importer, "READ_AHEAD_BYTES", 16 * 1024)
    report = await import_prisma(source=source, target=target)
    # then every row still comes across, in the same counts as the source holds
    assert report.committed
    for name in TABLE_NAMES:
        held = await source.fetchval(f'SELECT count(*) FROM "{name}"')
        assert report.tables[name].source == held, name


async def test_the_source_dying_while_read_ahead_fails_the_import_and_writes_nothing(
    source: asyncpg.Connection,
    source_url: str,
    target: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a small allowance, so that the source is still being read when assets load
    monkeypatch.setattr(importer, "READ_AHEAD_BYTES", 16 * 1024)
    before = {name: await target.fetchval(f'SELECT count(*) FROM "{name}"') for name in TABLE_NAMES}
    source_pid = source.get_server_pid()
    killers: list[asyncio.Task[None]] = []

    async def kill_the_source() -> None:
        admin = await asyncpg.connect(parse_database_url(source_url).dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", source_pid)
        finally:
            await admin.close()

    def progress(table: str, done: int, total: int) -> None:
        if table == "assets" and not killers:
            killers.append(asyncio.get_running_loop().create_task(kill_the_source()))

    # when the source's backend is terminated half-way
    with pytest.raises(SourceLostError) as lost:
        await import_prisma(source=source, target=target, progress=progress)
    await asyncio.gather(*killers)
    assert lost.value.field == "source" and lost.value.rule == "connection_lost"
    assert "nothing was written" in lost.value.message
    # then nothing was written on the target
    after = {name: await target.fetchval(f'SELECT count(*) FROM "{name}"') for name in TABLE_NAMES}
    assert after == before
