"""Deploys of issue 11: several at once on an empty database, and one killed at random points.

Each scenario runs the real ``piccolo db deploy`` processes against a database of its own
and compares the result with what one deploy alone builds (columns, constraints, indexes
and their validity, triggers, functions, extensions, history): the schema must be the same,
every migration recorded exactly once, and no index left invalid.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from tests.conftest import PROJECT_ROOT, admin_execute, database_url
from tests.db.helpers import MIGRATION_FILES, command_env, fetch, piccolo_db
from tests.reliability.helpers import schema_fingerprint

pytestmark = pytest.mark.reliability

SEED = 20261128  # the kill points are drawn from this seed: a failure can be replayed
# A deploy killed while its backend runs a statement: the server notices the dead client
# within this many milliseconds (otherwise the statement would run on to its end).
CLIENT_CHECK_MS = 100
CONCURRENT_BUILDS = 14  # CREATE INDEX CONCURRENTLY statements across the migrations
ORPHANED_BUILD = 5  # the build left running by the killed deploy (clips_admin_status_score)


@pytest.fixture
async def databases() -> AsyncIterator[list[str]]:
    """Names of the databases a test made (with _empty_database); dropped afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _empty_database(names: list[str]) -> str:
    name = f"deploys_{uuid.uuid4().hex[:10]}"
    names.append(name)
    await admin_execute(f"CREATE DATABASE {name}")
    await admin_execute(
        f"ALTER DATABASE {name} SET client_connection_check_interval = {CLIENT_CHECK_MS}"
    )
    return database_url(name)


@pytest.fixture(scope="module")
async def single_deploy_schema() -> dict[str, list[str]]:
    """The schema one deploy alone builds on an empty database (the reference)."""
    name = f"deploys_ref_{uuid.uuid4().hex[:8]}"
    await admin_execute(f"CREATE DATABASE {name}")
    try:
        result = piccolo_db("deploy", url=database_url(name))
        assert result.returncode == 0, result.stdout + result.stderr
        return await schema_fingerprint(database_url(name))
    finally:
        await admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Deploy:
    """A running ``piccolo db deploy`` whose stdout lines are read as they come."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    stderr: str = ""

    @classmethod
    async def start(cls, url: str) -> Deploy:
        # Its output is a pipe, as in a container: block-buffered unless deploy flushes.
        env = {k: v for k, v in command_env(url).items() if k != "PYTHONUNBUFFERED"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "piccolo.main",
            "db",
            "deploy",
            cwd=PROJECT_ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def next_line(self) -> str | None:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            return None
        line = raw.decode().rstrip("\n")
        self.lines.append(line)
        return line

    async def finish(self) -> int:
        assert self.process.stdout is not None and self.process.stderr is not None
        while await self.next_line() is not None:
            pass
        self.stderr += (await self.process.stderr.read()).decode()
        return await self.process.wait()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    @property
    def output(self) -> str:
        return "\n".join(self.lines) + "\n" + self.stderr


async def _history(url: str) -> list[tuple[str, int]]:
    """(app:migration, times recorded); empty when the history table is not made yet."""
    if not (await fetch(url, "SELECT to_regclass('migration') IS NOT NULL AS made"))[0]["made"]:
        return []
    rows = await fetch(
        url, "SELECT app_name || ':' || name AS label, count(*) AS n FROM migration GROUP BY 1"
    )
    return sorted((row["label"], row["n"]) for row in rows)


async def _assert_fully_deployed(url: str, reference: dict[str, list[str]]) -> None:
    history = await _history(url)
    assert len(history) == MIGRATION_FILES, history
    assert all(n == 1 for _, n in history), [row for row in history if row[1] != 1]
    invalid = await fetch(
        url, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
    )
    assert invalid == []
    assert await schema_fingerprint(url) == reference


@pytest.mark.parametrize("count", [3, 5])
async def test_deploys_started_together_on_an_empty_database(
    count: int, databases: list[str], single_deploy_schema: dict[str, list[str]]
) -> None:
    # given an empty database, when `count` deploys start at the same moment
    url = await _empty_database(databases)
    started = time.monotonic()
    deploys = [await Deploy.start(url) for _ in range(count)]
    codes = await asyncio.gather(*(deploy.finish() for deploy in deploys))
    elapsed = time.monotonic() - started
    # then every one exits 0: one applies everything, the others wait and find it done
    for deploy, code in zip(deploys, codes, strict=True):
        assert code == 0, deploy.output
    summaries = sorted(deploy.lines[-1] for deploy in deploys)
    assert summaries == [f"deployed: {MIGRATION_FILES} migration(s) applied"] + ["up to date"] * (
        count - 1
    )
    # and every migration is recorded once, the schema the same as one deploy's
    await _assert_fully_deployed(url, single_deploy_schema)
    print(f"\n{count} deploys at once on an empty database: all exit 0 in {elapsed:.1f} s")


async def _kill_after_applied(deploy: Deploy, nth: int, delay: float) -> str:
    """Kill the deploy ``delay`` seconds after it printed its ``nth`` applied migration,
    which lands the kill somewhere in the migrations that follow."""
    applied = 0
    while (line := await deploy.next_line()) is not None:
        if line.startswith("applied "):
            applied += 1
            if applied == nth:
                await asyncio.sleep(delay)
                assert deploy.process.returncode is None, "the deploy ended before the kill"
                deploy.kill()
                label = line.removeprefix("applied ")
                return f"{delay * 1000:.0f} ms after migration #{nth} ({label})"
    raise AssertionError(f"the deploy ended before {nth} migrations: {deploy.output}")


class IndexBuildBlocker:
    """Holds every ``CREATE INDEX CONCURRENTLY`` of a deploy in its last phase, on demand.

    A transaction holding an old snapshot makes a concurrent build wait after it built the
    index and before it marks it valid (the "waiting for old snapshots" phase): killed
    there, the index stays in the catalog, invalid. The blocker lets the first builds go
    by until the ``nth``: it takes a new snapshot on a second connection, which the next
    build will wait for, before it ends the one the current build waits for (a build
    waits only for the snapshots older than its own that existed when it began waiting).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = parse_database_url(url).database
        self.seen: list[str] = []

    async def __aenter__(self) -> IndexBuildBlocker:
        dsn = parse_database_url(self.url).dsn
        # The activity view is frozen inside a transaction: the connection that watches
        # must not be one that holds a snapshot.
        self.blocker, self.spare = [await asyncpg.connect(dsn) for _ in range(2)]
        self.watcher = await asyncpg.connect(dsn)
        await self._hold(self.blocker)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for connection in (self.blocker, self.spare, self.watcher):
            await connection.close()

    @staticmethod
    async def _hold(connection: asyncpg.Connection) -> None:
        await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await connection.fetchval("SELECT 1")

    async def renew(self) -> None:
        """Hold a new snapshot, then end the old one: never a moment without one."""
        await self._hold(self.spare)
        await self.release()
        self.blocker, self.spare = self.spare, self.blocker

    async def release(self) -> None:
        await self.blocker.execute("COMMIT")

    async def wait_for_build(self, deploy: Deploy, reader: asyncio.Task[int], nth: int) -> int:
        """The backend pid of the ``nth`` build once it waits for the held snapshot."""
        while not reader.done():
            row = await self.watcher.fetchrow(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = $1 "
                "AND wait_event = 'virtualxid' AND query ILIKE 'CREATE%INDEX CONCURRENTLY%'",
                self.database,
            )
            if row is None or (self.seen and self.seen[-1] == row["query"]):
                await asyncio.sleep(0.02)
                continue
            self.seen.append(row["query"])
            if len(self.seen) == nth:
                pid: int = row["pid"]
                return pid
            await self.renew()
        raise AssertionError(f"the deploy ended before build #{nth}: {deploy.output}")

    def index_name(self) -> str:
        match = re.search(r"CONCURRENTLY\s+(?:IF NOT EXISTS\s+)?(\w+)", self.seen[-1])
        assert match is not None
        return match.group(1)

    async def gone(self, pid: int) -> None:
        for _ in range(200):
            if not await self.watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"backend {pid} of the killed deploy is still running")

    async def invalid_indexes(self) -> list[str]:
        rows = await self.watcher.fetch(
            "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid"
        )
        return [row["name"] for row in rows]


async def _kill_mid_index_build(deploy: Deploy, url: str, nth: int) -> str:
    """Kill the deploy while its ``nth`` concurrent index build waits in its last phase."""
    reader = asyncio.create_task(deploy.finish())
    try:
        async with IndexBuildBlocker(url) as blocker:
            pid = await blocker.wait_for_build(deploy, reader, nth)
            deploy.kill()
            # the server notices the dead client and ends the build: the index stays invalid
            await blocker.gone(pid)
            assert await blocker.invalid_indexes() == [blocker.index_name()]
            return f"mid concurrent index build #{nth} ({blocker.index_name()})"
    finally:
        await reader


async def test_a_deploy_killed_at_random_points_then_redeployed(
    databases: list[str], single_deploy_schema: dict[str, list[str]]
) -> None:
    rng = random.Random(SEED)
    first, second = sorted(rng.sample(range(1, MIGRATION_FILES - 8), 2))
    points: list[tuple[str, int, float]] = [
        ("applied", first, rng.uniform(0, 0.1)),
        ("applied", second, rng.uniform(0, 0.1)),
        ("index", rng.randint(1, CONCURRENT_BUILDS), 0.0),
    ]
    report: list[str] = []
    for kind, nth, delay in points:
        # given an empty database and a deploy killed (SIGKILL) at a random point
        url = await _empty_database(databases)
        deploy = await Deploy.start(url)
        if kind == "applied":
            point = await _kill_after_applied(deploy, nth, delay)
        else:
            point = await _kill_mid_index_build(deploy, url, nth)
        code = await deploy.finish()
        assert code == -signal.SIGKILL, deploy.output
        # then what it printed is true: each migration it said it applied is recorded (once)
        recorded = dict(await _history(url))
        claimed = [
            line.removeprefix("applied ") for line in deploy.lines if line.startswith("applied ")
        ]
        for label in claimed:
            assert recorded.get(label) == 1, (label, deploy.output)
        assert "rolled back" not in deploy.output and "deployed:" not in deploy.output
        # when it is deployed again
        redeploy = piccolo_db("deploy", url=url)
        # then the database is fully migrated, once each, no index invalid, same schema
        assert redeploy.returncode == 0, redeploy.stdout + redeploy.stderr
        assert f"deployed: {MIGRATION_FILES - len(recorded)} migration(s) applied" in (
            redeploy.stdout
        ) or (len(recorded) == MIGRATION_FILES and "up to date" in redeploy.stdout)
        await _assert_fully_deployed(url, single_deploy_schema)
        report.append(
            f"killed {point}: {len(claimed)} reported applied, {len(recorded)} recorded; "
            f"redeploy applied {MIGRATION_FILES - len(recorded)}, all valid"
        )
    print("\n" + "\n".join(report))


async def test_a_redeploy_beside_the_killed_deploys_index_build_that_runs_on(
    databases: list[str], single_deploy_schema: dict[str, list[str]]
) -> None:
    # given a server that does not check for dead clients (PostgreSQL's default): a deploy
    # killed mid concurrent index build leaves its backend building on, invalid index and all
    url = await _empty_database(databases)
    name = parse_database_url(url).database
    await admin_execute(f"ALTER DATABASE {name} RESET client_connection_check_interval")
    nth = ORPHANED_BUILD
    deploy = await Deploy.start(url)
    reader = asyncio.create_task(deploy.finish())
    async with IndexBuildBlocker(url) as blocker:
        orphan = await blocker.wait_for_build(deploy, reader, nth)
        deploy.kill()
        assert await reader == -signal.SIGKILL
        assert await blocker.invalid_indexes() == [blocker.index_name()]
        # when the deploy is restarted at once (the orphaned build still running)
        started = time.monotonic()
        redeploy = await Deploy.start(url)
        redeploy_reader = asyncio.create_task(redeploy.finish())
        await asyncio.sleep(2)
        still_building = await blocker.watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", orphan
        )
        # and the old snapshot that holds the orphaned build goes away
        await blocker.release()
        code = await redeploy_reader
        elapsed = time.monotonic() - started
    # then the redeploy succeeds and leaves a fully migrated database, every index valid
    assert still_building == 1
    assert code == 0, redeploy.output
    await _assert_fully_deployed(url, single_deploy_schema)
    print(
        f"\nredeploy beside the killed deploy's running build #{nth} "
        f"({blocker.index_name()}): exit 0 in {elapsed:.1f} s, all valid"
    )
