"""`piccolo db stats` on the seeded database; a command's queries are labelled by its verb."""

from __future__ import annotations

import json

from tests.db.helpers import fetch, piccolo_db


async def test_stats_finds_indexes_never_used_on_the_seeded_database(
    migrated_database: str,
) -> None:
    # given the sample data, seeded with every query logged as slow
    seeded = piccolo_db("seed", url=migrated_database, GATEWAYDB_SLOW_QUERY_MS="0")
    assert seeded.returncode == 0, seeded.stderr
    # then the seed's queries are labelled by the verb, and never show a parameter value
    logged = [json.loads(line) for line in seeded.stderr.splitlines() if line.startswith("{")]
    assert logged and {line["operation"] for line in logged} == {"cli:db seed"}
    secrets = [line.split()[-1] for line in seeded.stdout.splitlines() if "gw_" in line]
    assert secrets and not any(secret in seeded.stderr for secret in secrets)
    # when the stats are asked for as JSON
    result = piccolo_db("stats", "--json", url=migrated_database)
    # then the report names indexes never scanned, none of them unique
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    unused = {row["index"] for row in report["unused_indexes"]}
    assert unused
    uniques = await fetch(
        migrated_database,
        "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indisunique",
    )
    assert unused.isdisjoint({row["name"] for row in uniques})
    largest = {row["table"] for row in report["largest_tables"]}
    # a partitioned table counts once, its monthly partitions folded in
    partitions = await fetch(
        migrated_database, "SELECT relname AS name FROM pg_class WHERE relispartition"
    )
    assert partitions and largest.isdisjoint({row["name"] for row in partitions})
    assert "conversions" in largest
    assert 0 < report["cache_hit_ratio"] <= 1
    assert {"table", "dead_rows", "last_autovacuum"} <= report["dead_tuples"][0].keys()
    # the template's clones have no pg_stat_statements extension (tests/conftest.py)
    assert report["statements_available"] is False
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in report["statements_note"]


async def test_stats_prints_a_terminal_report(migrated_database: str) -> None:
    result = piccolo_db("stats", url=migrated_database)
    assert result.returncode == 0, result.stderr
    for heading in (
        "cache hit ratio",
        "largest tables",
        "largest indexes",
        "indexes never used",
        "tables with many sequential scans",
        "dead rows and vacuum",
        "slowest statements",
    ):
        assert heading in result.stdout


async def test_stats_refuses_an_unknown_option(migrated_database: str) -> None:
    result = piccolo_db("stats", "--csv", url=migrated_database)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error:")
    assert "--csv" in result.stderr
