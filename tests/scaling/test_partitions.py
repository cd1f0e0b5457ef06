"""Monthly partitions of conversions and performance_metrics: rules, pruning, migration, verb."""

from __future__ import annotations

import asyncio
import datetime
import re
import sys
import uuid
from decimal import Decimal

import asyncpg
import pytest

from apps.ads import selectors, services
from apps.ads.records import ConversionInput
from apps.ads.tables import ConversionSource
from apps.core.dburl import parse_database_url
from apps.db.partitions import add_months, this_month
from tests.ads.factories import make_campaign
from tests.conftest import PROJECT_ROOT, run_piccolo
from tests.db.helpers import command_env, piccolo_db
from tests.helpers import assert_refused, connection, insert_asset, insert_user

MIGRATION_ID = "2026-11-28T12:45:46:286548"
UTC = datetime.UTC


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _ingest(campaign_id: uuid.UUID, *items: tuple[str, datetime.datetime]) -> tuple[str, ...]:
    result = await services.conversion_ingest_batch(
        source=ConversionSource.META,
        conversions=[
            ConversionInput(
                external_id=eid, value=Decimal("5.00"), campaign_id=campaign_id, timestamp=ts
            )
            for eid, ts in items
        ],
    )
    return result.new_external_ids


async def test_the_history_tables_are_partitioned_by_month() -> None:
    rows = await connection().fetch(
        "SELECT c.relname, pg_get_partkeydef(c.oid) AS key FROM pg_class c "
        "WHERE c.relname IN ('conversions', 'performance_metrics') ORDER BY 1"
    )
    assert [(r["relname"], r["key"]) for r in rows] == [
        ("conversions", 'RANGE ("timestamp")'),
        ("performance_metrics", "RANGE (date)"),
    ]
    # the current month and the next three have a partition: a row of each is accepted
    for offset in range(4):
        month = add_months(this_month(), offset)
        part = await connection().fetchval(
            'INSERT INTO conversions (value, "timestamp") VALUES (1, $1) '
            "RETURNING tableoid::regclass::text",
            at(month),
        )
        assert part.startswith("conversions_") and part != "conversions"


async def test_a_duplicate_external_id_in_another_month_is_deduplicated_by_the_ingestion() -> None:
    # given a conversion stored this month
    campaign = await make_campaign()
    month = this_month()
    later = add_months(month, 2)
    assert await _ingest(campaign.id, ("dup-1", at(month))) == ("dup-1",)
    # when the same external_id arrives dated two months later (another partition), twice
    # in one batch, beside a new one
    new = await _ingest(
        campaign.id, ("dup-1", at(later)), ("dup-1", at(later)), ("new-1", at(later))
    )
    # then only the new one is stored, and the campaign counts 2
    assert new == ("new-1",)
    rows = await connection().fetch(
        "SELECT external_id, tableoid::regclass::text AS part FROM conversions "
        "WHERE campaign_id = $1 ORDER BY external_id",
        campaign.id,
    )
    assert [r["external_id"] for r in rows] == ["dup-1", "new-1"]
    assert rows[0]["part"] != rows[1]["part"]  # two partitions
    total = await connection().fetchval(
        "SELECT total_conversions FROM campaigns WHERE id = $1", campaign.id
    )
    assert total == 2
    # and the ledger knows each id once, pointing at the stored row
    ledger = await connection().fetch(
        "SELECT l.external_id FROM conversion_external_ids l JOIN conversions c "
        'ON c.id = l.conversion_id AND c."timestamp" = l."timestamp" '
        "WHERE l.external_id IN ('dup-1', 'new-1') ORDER BY 1"
    )
    assert [r["external_id"] for r in ledger] == ["dup-1", "new-1"]


async def test_a_duplicate_external_id_written_directly_is_refused_in_any_partition() -> None:
    month = this_month()
    await connection().execute(
        "INSERT INTO conversions (value, external_id, \"timestamp\") VALUES (1, 'raw-1', $1)",
        at(month),
    )
    error = await assert_refused(
        "INSERT INTO conversions (value, external_id, \"timestamp\") VALUES (1, 'raw-1', $1)",
        at(add_months(month, 1)),
        error=asyncpg.UniqueViolationError,
        constraint="conversions_external_id_key",
    )
    assert "raw-1" in (error.detail or "")
    # moving the row to another month keeps its claim; deleting it frees the id
    await connection().execute(
        "UPDATE conversions SET \"timestamp\" = $1 WHERE external_id = 'raw-1'",
        at(add_months(month, 2)),
    )
    claim = await connection().fetchrow(
        "SELECT l.\"timestamp\" FROM conversion_external_ids l WHERE external_id = 'raw-1'"
    )
    assert claim is not None and claim["timestamp"] == at(add_months(month, 2))
    await connection().execute("DELETE FROM conversions WHERE external_id = 'raw-1'")
    assert not await connection().fetchval(
        "SELECT count(*) FROM conversion_external_ids WHERE external_id = 'raw-1'"
    )
    await connection().execute(
        "INSERT INTO conversions (value, external_id) VALUES (1, 'raw-1')",
    )


async def test_one_metrics_row_per_asset_platform_and_day_in_every_partition() -> None:
    asset_id = await insert_asset(await insert_user())
    sql = "INSERT INTO performance_metrics (asset_id, platform, date) VALUES ($1, $2, $3)"
    for offset in (0, 1, 3):
        day = add_months(this_month(), offset) + datetime.timedelta(days=9)
        await connection().execute(sql, asset_id, "meta", day)
        refused = await assert_refused(
            sql, asset_id, "meta", day, error=asyncpg.UniqueViolationError
        )
        assert "one_row_per_day" in (refused.constraint_name or "")
    # the upsert on (asset_id, platform, date) still finds the row of its partition
    day = add_months(this_month(), 1) + datetime.timedelta(days=9)
    await connection().execute(
        sql + " ON CONFLICT (asset_id, platform, date) DO UPDATE SET clicks = 7",
        asset_id,
        "meta",
        day,
    )
    clicks = await connection().fetchval(
        "SELECT clicks FROM performance_metrics WHERE asset_id = $1 AND date = $2", asset_id, day
    )
    assert clicks == 7


def _partitions_in(plan: str, table: str, condition: str = "") -> set[str]:
    """The partitions of ``table`` a plan scans (with ``condition`` on the scan's next line)."""
    lines = plan.splitlines()
    found = set()
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        match = re.search(rf"\bon ({table}_(?:before_)?y\d{{4}}m\d{{2}})\b", line)
        if match and condition in following:
            found.add(match.group(1))
    return found


async def test_a_one_month_rollup_reads_one_partition_of_each_history_table() -> None:
    # given conversions in three months
    campaign = await make_campaign()
    month = add_months(this_month(), 2)
    for offset in (-1, 0, 1):
        day = add_months(month, offset)
        await _ingest(campaign.id, (f"prune-{offset}-{uuid.uuid4().hex}", at(day)))
    # when the rollup of that month is explained (custom plan: the dates are known)
    last_day = add_months(month, 1) - datetime.timedelta(days=1)
    plan = "\n".join(
        row[0]
        for row in await connection().fetch(
            f"EXPLAIN {selectors.CAMPAIGN_ROLLUP_SQL}", campaign.id, month, last_day
        )
    )
    # then only that month's partition of each table is read for the month's facts (the
    # assets linked to the campaign are found by clip, through every partition's index)
    suffix = f"y{month.year:04d}m{month.month:02d}"
    dated = _partitions_in(plan, "conversions", '("timestamp" >=')
    assert dated == {f"conversions_{suffix}"}, plan
    assert _partitions_in(plan, "performance_metrics") == {f"performance_metrics_{suffix}"}, plan


async def _snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        "conversions": [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, campaign_id, source, external_id, value, currency, "
                'attributed_clip_id, attributed_ad_id, "timestamp", metadata::text, '
                "created_at, updated_at FROM conversions ORDER BY id"
            )
        ],
        "performance_metrics": [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, asset_id, platform, date, impressions, clicks, conversions, spend, "
                "revenue, roas, ctr, raw_data::text, created_at, updated_at "
                "FROM performance_metrics ORDER BY id"
            )
        ],
    }


async def test_the_migration_goes_backwards_and_forwards_keeping_every_row(
    migrated_database: str,
) -> None:
    conn = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        # given rows in the history partition and in later months
        asset = await conn.fetchval(
            "INSERT INTO users (email, name) VALUES ('p@example.com', 'P') RETURNING id"
        )
        asset = await conn.fetchval(
            "INSERT INTO assets (user_id, filename, original_name, mime_type, file_size, gcs_url,"
            " gcs_bucket, gcs_path) VALUES ($1, 'a.mp4', 'A.mp4', 'video/mp4', 1, 'gs://b/a',"
            " 'b', 'a') RETURNING id",
            asset,
        )
        for offset in range(-14, 3):
            day = add_months(this_month(), offset) + datetime.timedelta(days=3)
            await conn.execute(
                'INSERT INTO conversions (value, external_id, "timestamp", metadata) '
                "VALUES ($1, $2, $3, '{\"k\": 1}')",
                Decimal(offset + 20),
                f"m-{offset}",
                at(day),
            )
            await conn.execute(
                "INSERT INTO performance_metrics (asset_id, date, clicks) VALUES ($1, $2, $3)",
                asset,
                day,
                offset + 20,
            )
        before = await _snapshot(conn)
        assert len(before["conversions"]) == 17 and len(before["performance_metrics"]) == 17
        # when the migration goes backwards
        run_piccolo(
            "migrations",
            "backwards",
            "ads",
            f"--migration_id={MIGRATION_ID}",
            "--auto_agree",
            url=migrated_database,
        )
        # then plain tables hold the same rows, and external_id is unique again by index
        kinds = await conn.fetch(
            "SELECT relname, relkind::text FROM pg_class WHERE relname IN "
            "('conversions', 'performance_metrics', 'conversion_external_ids') ORDER BY 1"
        )
        assert [(r["relname"], r["relkind"]) for r in kinds] == [
            ("conversions", "r"),
            ("performance_metrics", "r"),
        ]
        assert await _snapshot(conn) == before
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO conversions (value, external_id) VALUES (1, 'm-0')")
        # and forwards again: partitioned, same rows, the rules hold
        run_piccolo("migrations", "forwards", "ads", url=migrated_database)
        assert (
            await conn.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'conversions'")
            == "p"
        )
        assert await _snapshot(conn) == before
        assert await conn.fetchval("SELECT count(*) FROM conversion_external_ids") == 17
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO conversions (value, external_id) VALUES (1, 'm-0')")
    finally:
        await conn.close()


async def test_the_partitions_verb_creates_months_and_detaches_old_ones(
    migrated_database: str,
) -> None:
    # more months: created once, then nothing left to do
    result = piccolo_db("partitions", "--months=5", url=migrated_database)
    assert result.returncode == 0, result.stderr
    # (the migration created the current month and the next three)
    names = [f"y{m.year:04d}m{m.month:02d}" for m in (add_months(this_month(), n) for n in (4, 5))]
    assert result.stdout.splitlines() == [
        *(f"created conversions_{name}" for name in names),
        *(f"created performance_metrics_{name}" for name in names),
    ]
    again = piccolo_db("partitions", "--months=5", url=migrated_database)
    assert again.stdout.strip() == "partitions up to date"
    # bad input: one error line naming the option and the rule
    for args, words in (
        (["--months=x"], "--months must be a whole number"),
        (["--detach-before=2026-13"], "--detach-before must be a month written YYYY-MM"),
        (["--detach-before=2999-01"], "only past months can be detached"),
        (["--bogus=1"], "unknown option(s): --bogus"),
    ):
        bad = piccolo_db("partitions", *args, url=migrated_database)
        assert bad.returncode == 1 and bad.stderr.startswith("error: ") and words in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    # detaching (the verb only takes past months: called here with a future one) keeps rows
    conn = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        first = add_months(this_month(), 1)
        await conn.execute(
            "INSERT INTO conversions (value, external_id, \"timestamp\") VALUES (3, 'old-1', $1)",
            at(first),
        )
        before = await conn.fetchval("SELECT count(*) FROM conversions")
        script = (
            "import asyncio, datetime\n"
            "from apps.db.partitions import HISTORY, detach_before\n"
            f"day = datetime.date({add_months(first, 1).year}, {add_months(first, 1).month}, 1)\n"
            "print(*asyncio.run(detach_before(HISTORY[0], day)))\n"
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            cwd=PROJECT_ROOT,
            env=command_env(migrated_database),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0
        detached = out.decode().split()
        assert len(detached) == 2 and detached[-1].endswith(f"y{first.year:04d}m{first.month:02d}")
        # then the detached tables still hold every row, outside conversions
        kept = sum([await conn.fetchval(f"SELECT count(*) FROM {name}") for name in detached])
        assert kept + await conn.fetchval("SELECT count(*) FROM conversions") == before
        # and a re-delivered archived conversion is still a duplicate
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                'INSERT INTO conversions (value, external_id, "timestamp") '
                "VALUES (1, 'old-1', $1)",
                at(add_months(first, 1)),
            )
    finally:
        await conn.close()
