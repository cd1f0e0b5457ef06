"""`piccolo db import-prisma` as an operator runs it: the real CLI against a committed database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.db.helpers import fetch, piccolo_db, table_checksums
from tests.fixtures.prisma_rows import SEED_KEYS


def _no_secret(output: str) -> None:
    for key in SEED_KEYS.values():
        assert key not in output


async def test_a_dry_run_writes_only_the_report_and_the_report_adds_up(
    source_url: str, migrated_database: str, tmp_path: Path
) -> None:
    before = await table_checksums(migrated_database)
    report_path = tmp_path / "dry-run.json"
    # when the operator does the dry run
    result = piccolo_db(
        "import-prisma",
        f"--source={source_url}",
        "--dry-run",
        f"--report={report_path}",
        url=migrated_database,
    )
    # then it succeeds, prints the table and a progress line per table, writes nothing
    assert result.returncode == 0, result.stderr
    assert await table_checksums(migrated_database) == before
    assert "dry run: nothing was written" in result.stdout
    assert "quarantined clips backwards-clip: times_are_ordered" in result.stdout
    assert "left alone (not in the Prisma schema): image_generations" in result.stdout
    for table in ("users", "clips", "performance_metrics"):
        assert table in result.stderr  # the progress lines
    _no_secret(result.stdout + result.stderr + report_path.read_text())
    report = json.loads(report_path.read_text())
    assert report["dry_run"] is True and report["committed"] is False
    for name, counts in report["tables"].items():
        assert counts["source"] == counts["imported"] + counts["quarantined"], name
        quarantined = {q["source_id"] for q in report["quarantined"] if q["table"] == name}
        assert counts["quarantined"] == len(quarantined), name
    assert report["unknown_tables"] == ["image_generations"]
    assert report["elapsed_seconds"] > 0


# (the monthly partitions are left out: the import creates those its rows need)
_CATALOG = (
    "SELECT indexname AS name, indexdef AS definition FROM pg_indexes i "
    "JOIN pg_class c ON c.relname = i.tablename AND c.relnamespace = 'public'::regnamespace "
    "WHERE schemaname = 'public' AND NOT c.relispartition "
    "UNION ALL SELECT conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
    "WHERE connamespace = 'public'::regnamespace AND NOT EXISTS "
    "(SELECT 1 FROM pg_class c WHERE c.oid = k.conrelid AND c.relispartition) ORDER BY 1, 2"
)


async def test_strict_refuses_with_one_line_then_the_import_commits(
    source_url: str, migrated_database: str, tmp_path: Path
) -> None:
    before = await table_checksums(migrated_database)
    catalog = [tuple(row) for row in await fetch(migrated_database, _CATALOG)]
    # when --strict meets rows that need repairs: exit 1, one error line, nothing written
    refused = piccolo_db(
        "import-prisma", f"--source={source_url}", "--strict", url=migrated_database
    )
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: --strict: some rows would be repaired or quarantined; nothing was written"
    ]
    assert "Traceback" not in refused.stderr
    assert await table_checksums(migrated_database) == before
    # when run without it: committed, and the counts of the report are the target's
    report_path = tmp_path / "import.json"
    done = piccolo_db(
        "import-prisma", f"--source={source_url}", f"--report={report_path}", url=migrated_database
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    assert report["committed"] is True
    for name, counts in report["tables"].items():
        rows = await fetch(migrated_database, f"SELECT count(*) FROM {name}")
        assert rows[0][0] == counts["imported"], name
    # the indexes and foreign keys set aside for the bulk load are back, exactly as they were
    assert [tuple(row) for row in await fetch(migrated_database, _CATALOG)] == catalog
    kept = await fetch(migrated_database, "SELECT count(*) FROM prisma_quarantine")
    assert kept[0][0] == len({(q["table"], q["source_id"]) for q in report["quarantined"]})
    # when run again: only the rows since each table's updatedAt mark are read
    again = piccolo_db(
        "import-prisma", f"--source={source_url}", f"--report={report_path}", url=migrated_database
    )
    assert again.returncode == 0, again.stderr
    assert "read: the rows changed since the last run" in again.stdout
    delta = json.loads(report_path.read_text())["tables"]
    assert delta["clips"]["read_since"] is not None
    assert delta["clips"]["source"] < delta["clips"]["source_total"]
    assert delta["performance_metrics"]["read_since"] is None  # no updatedAt: read whole
    # and with --full: every row again, nothing written
    full = piccolo_db(
        "import-prisma",
        f"--source={source_url}",
        "--full",
        f"--report={report_path}",
        url=migrated_database,
    )
    assert full.returncode == 0, full.stderr
    for name, counts in json.loads(report_path.read_text())["tables"].items():
        assert counts["read_since"] is None, name
        assert counts["source"] == counts["source_total"] == report["tables"][name]["source"]
        assert counts["inserted"] + counts["updated"] == 0, name


def test_a_source_that_cannot_be_read_is_one_error_line_without_its_password(
    migrated_database: str,
) -> None:
    result = piccolo_db(
        "import-prisma", "--source=mysql://old:s3cret-pw@db/gateway", url=migrated_database
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: --source must be")
    assert "s3cret-pw" not in result.stdout + result.stderr
    nowhere = piccolo_db(
        "import-prisma",
        "--source=postgresql://x@db/old",
        "--report=/no/such/dir/r.json",
        url=migrated_database,
    )
    assert nowhere.returncode == 1
    assert "error: --report: the folder of /no/such/dir/r.json does not exist" in nowhere.stderr
    missing = piccolo_db("import-prisma", url=migrated_database)
    assert missing.returncode == 1 and "error: --source is required" in missing.stderr
