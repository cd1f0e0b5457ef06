"""Benchmark: `piccolo db import-prisma` against `pg_dump | pg_restore` of the same source.

    make bench-import-prisma     (or: .venv/bin/python -m bench.import_prisma --rows 500000)

A throwaway embedded PostgreSQL is started in a temporary directory. On it:

- ``source``: the Prisma-era schema of tests/fixtures/prisma_era.sql, filled by the tests'
  own generator (the old seed, every kind of awkward row, and ordinary rows up to
  ``--rows``: users with API keys, assets, clips, predictions, conversions, metrics);
- ``target``: migrated with the real ``piccolo migrations forwards all``;
- ``baseline``: an empty database.

Then, in alternating order over ``--rounds`` rounds (the machine is shared, so both run
under the same load):

- ours: the real CLI, ``piccolo db import-prisma --source URL --report PATH``, in a fresh
  process against a freshly migrated target (wall clock, Python start included);
- after the rounds, the same import once more into the imported target (a re-run with
  nothing changed: what a final delta costs at least);
- floor: ``pg_dump --format=custom source | pg_restore --dbname=baseline`` (the same rows
  copied as they are, no checks, no mapping; indexes and constraints built by pg_restore),
  into a freshly emptied database;
- after the rounds, the same dump and restore of the imported target: the same rows in this
  project's schema (its indexes, keys, partitions), which is what the import must build. No
  import can be faster than restoring what it produces; that time says how far the goal is
  reachable at all on the machine.

Figures: median seconds, source rows per second, and ratio = floor time / our time (1.00:
as fast as a plain dump and restore). The issue's goal is >= 50,000 rows/s end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import (  # noqa: E402
    client_binary,
    start_embedded_server,
    stop_embedded_server,
)
from tests.fixtures.prisma_rows import create_prisma_database  # noqa: E402

# legacy_rows(volume=v) makes about 1.1 * v rows (a tenth of the volume is user + asset).
ROWS_PER_VOLUME = 1.1


def _database_url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def _admin(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(parse_database_url(server_url).dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _fill_source(url: str, rows: int) -> int:
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        total: int = await create_prisma_database(connection, volume=int(rows / ROWS_PER_VOLUME))
        await connection.execute("VACUUM ANALYZE")
        return total
    finally:
        await connection.close()


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test"}


def _migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=_env(url),
        check=True,
        capture_output=True,
    )


def _fresh(server_url: str, name: str, *, migrate: bool) -> str:
    asyncio.run(
        _admin(
            server_url,
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"CREATE DATABASE {name}",
        )
    )
    url = _database_url(server_url, name)
    if migrate:
        _migrate(url)
    return url


def _run_ours(server_url: str, source_url: str, report: Path, *, again: bool = False) -> float:
    """One CLI import into a freshly migrated target; ``again``: into the last one."""
    target_url = (
        _database_url(server_url, "target") if again else _fresh(server_url, "target", migrate=True)
    )
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "piccolo.main",
            "db",
            "import-prisma",
            f"--source={source_url}",
            f"--report={report}",
        ],
        cwd=PROJECT_ROOT,
        env=_env(target_url),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _run_floor(server_url: str, source_url: str) -> float:
    """``pg_dump | pg_restore`` of the database at ``source_url`` into a fresh empty one."""
    baseline_url = _fresh(server_url, "baseline", migrate=False)
    source_dsn = parse_database_url(source_url).dsn
    baseline_dsn = parse_database_url(baseline_url).dsn
    started = time.perf_counter()
    dump = subprocess.Popen(
        [str(client_binary("pg_dump")), "--format=custom", f"--dbname={source_dsn}"],
        stdout=subprocess.PIPE,
    )
    restore = subprocess.run(
        [str(client_binary("pg_restore")), "--no-owner", f"--dbname={baseline_dsn}"],
        stdin=dump.stdout,
        capture_output=True,
    )
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise SystemExit(f"pg_dump | pg_restore failed: {restore.stderr.decode()[-500:]}")
    return time.perf_counter() - started


def _load_average() -> str:
    """The machine is shared: the load while measuring says how far to trust the seconds."""
    one, five, fifteen = os.getloadavg()
    return (
        f"load average (1, 5, 15 min): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="source rows (about)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work_dir = Path(tempfile.mkdtemp(prefix="gwbench-import-"))
    server_url = start_embedded_server(work_dir / "pg", database="bench", cleanup="delete")
    try:
        source_url = _fresh(server_url, "source", migrate=False)
        source_rows = asyncio.run(_fill_source(source_url, args.rows))
        print(f"source: {source_rows:,} rows (Prisma-era schema, awkward rows included)")
        print(_load_average(), flush=True)
        ours: list[float] = []
        floor: list[float] = []
        report = work_dir / "report.json"
        for round_number in range(args.rounds):
            runs = [("ours", ours), ("floor", floor)]
            for name, bucket in runs if round_number % 2 == 0 else runs[::-1]:
                if name == "ours":
                    bucket.append(_run_ours(server_url, source_url, report))
                else:
                    bucket.append(_run_floor(server_url, source_url))
            print(
                f"round {round_number + 1}: import-prisma {ours[-1]:.2f} s, "
                f"pg_dump | pg_restore {floor[-1]:.2f} s",
                flush=True,
            )
        details = json.loads(report.read_text())
        # The final delta of a cutover: the same source again, into the imported target.
        rerun_s = _run_ours(server_url, source_url, report, again=True)
        rerun = json.loads(report.read_text())
        written = sum(t["inserted"] + t["updated"] for t in rerun["tables"].values())
        # What the import produces, restored: the same rows in this project's schema.
        produced_s = _run_floor(server_url, _database_url(server_url, "target"))
        ours_s, floor_s = statistics.median(ours), statistics.median(floor)
        print()
        print(f"{'variant':<24}{'median s':>10}{'rows/s':>12}")
        print(f"{'import-prisma (CLI)':<24}{ours_s:>10.2f}{source_rows / ours_s:>12,.0f}")
        print(f"{'pg_dump | pg_restore':<24}{floor_s:>10.2f}{source_rows / floor_s:>12,.0f}")
        print(f"ratio (floor time / ours) = {floor_s / ours_s:.2f}")
        print(
            f"{'the imported target, pg_dump | pg_restore':<44}{produced_s:>8.2f} s "
            f"{source_rows / produced_s:>10,.0f} rows/s (this schema's own floor; "
            f"ratio to ours {produced_s / ours_s:.2f})"
        )
        print(
            f"importer's own elapsed (last run, report): {details['elapsed_seconds']} s, "
            f"{details['rows_per_second']:,} rows/s; goal >= 50,000 rows/s end to end"
        )
        print("importer's phases (last run, report), seconds:")
        for phase, seconds in sorted(details["phases"].items(), key=lambda item: -item[1]):
            print(f"  {phase:<32}{seconds:>8.2f}")
        print(
            f"re-run, source unchanged (a final delta at least): {rerun_s:.2f} s, "
            f"{written} rows written"
        )
        print(_load_average())
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
