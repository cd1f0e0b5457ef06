"""SIGKILL of the PostgreSQL server under concurrent service writes (issue 11).

A server of the test's own (the suite's server is never killed) takes writes from several
tasks of this one process, each calling the real services as a platform service would:
conversion ingestion batches, campaign totals, bulk clip inserts, document edits, and a
long-lived worker that runs a transaction per batch. The postmaster is killed with SIGKILL
a few times, each time while that worker is inside its transaction, and started again on
the same data directory and port. Then:

- every acknowledged write is in the database;
- every multi-row write whose outcome was not acknowledged is there entirely or not at all;
- every campaign's ``total_conversions`` equals the number of its conversions, and the
  worker's transactional totals match its batches exactly;
- every task writes again within seconds of each restart, with the same engine and pool
  (no restart of the process), the worker that was inside a transaction included;
- a failed call is a typed ``DatabaseUnavailableError``, nothing else;
- the pool closes promptly at the end (no connection leaked to a dead server).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from piccolo.conf.apps import Finder

from apps.ads.records import ConversionInput
from apps.ads.services import campaign_add_totals, campaign_create, conversion_ingest_batch
from apps.ads.tables import ConversionSource
from apps.core import rawsql
from apps.core.dburl import parse_database_url
from apps.core.engine import POOL_CLOSE_SECONDS, GatewayEngine
from apps.core.errors import DatabaseUnavailableError
from apps.knowledge.services import document_create, document_update
from apps.media.services import NewClip, asset_register, clip_bulk_create
from apps.users.services import user_create
from tests.conftest import TEMPLATE_DATABASE, database_url
from tests.reliability.helpers import TEST_URL, KillableServer, engine_for

pytestmark = pytest.mark.reliability

SEED = 1128  # the pauses between kills are drawn from it
KILLS = 3
RECOVERY_BOUND = 5.0  # seconds within which every task must write again after a restart
CAMPAIGNS = 4
CLIPS_PER_CALL = 10


@pytest.fixture
async def server() -> AsyncIterator[KillableServer]:
    """A throwaway server with the migrated schema, stopped and deleted afterwards."""
    # A short path: the server's unix socket lives in the data directory.
    root = Path(tempfile.mkdtemp(prefix="gwdb-kill-"))
    server = KillableServer(root)
    try:
        server.create()
        await server.start()
        server.load_schema_from(database_url(TEMPLATE_DATABASE))
        yield server
    finally:
        await server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def services_on(
    server: KillableServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayEngine]:
    """Every table bound to an engine (and pool) of that server, as in a service process."""
    engine = engine_for(f"{server.url}&connection_limit=8&pool_timeout=5&connect_timeout=2")
    for table in Finder().get_table_classes():
        monkeypatch.setattr(table._meta, "db", engine)
    await engine.start_connection_pool()
    try:
        yield engine
    finally:
        await engine.close_connection_pool()


@dataclass
class Task:
    """What one writing task saw: acknowledged writes, typed failures, anything else."""

    name: str
    acknowledged: int = 0
    wrote_at: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    async def loop(self, stop: asyncio.Event, write: Callable[[int], Awaitable[None]]) -> None:
        attempt = 0
        while not stop.is_set():
            attempt += 1
            try:
                await write(attempt)
            except DatabaseUnavailableError:
                self.failures["DatabaseUnavailableError"] += 1
                await asyncio.sleep(0.02)
                continue
            except Exception as error:  # anything else is a defect: record it, go on
                self.unexpected.append(f"{type(error).__name__}: {error}")
                await asyncio.sleep(0.02)
                continue
            self.acknowledged += 1
            self.wrote_at.append(time.monotonic())

    def first_write_after(self, moment: float) -> float | None:
        return next((at for at in self.wrote_at if at > moment), None)


@dataclass
class Ledger:
    """What was acknowledged, and what was attempted without an answer."""

    conversions: set[str] = field(default_factory=set)
    unanswered_batches: list[list[str]] = field(default_factory=list)
    clips: set[uuid.UUID] = field(default_factory=set)
    unanswered_clips: list[list[uuid.UUID]] = field(default_factory=list)
    impressions: int = 0
    unanswered_impressions: int = 0
    worker_batches: list[list[str]] = field(default_factory=list)
    worker_unanswered: list[list[str]] = field(default_factory=list)
    contents: set[str] = field(default_factory=set)


async def test_sigkill_of_the_server_under_concurrent_service_writes(
    server: KillableServer, services_on: GatewayEngine
) -> None:
    engine = services_on
    rng = random.Random(SEED)
    # given the rows the writers work on, made through the services
    user = await user_create(email="load@example.com", name="Load")
    campaigns = [
        (await campaign_create(user_id=user.id, name=f"load {n}", budget=Decimal(1000))).id
        for n in range(CAMPAIGNS)
    ]
    totals_campaign = (await campaign_create(user_id=user.id, name="totals", budget=Decimal(1))).id
    worker_campaign = (await campaign_create(user_id=user.id, name="worker", budget=Decimal(1))).id
    asset = await asset_register(
        user_id=user.id,
        filename="load.mp4",
        original_name="load.mp4",
        mime_type="video/mp4",
        file_size=1,
        gcs_url="gs://load-bucket/load.mp4",
    )
    document = await document_create(name="load", content="rev 0", category="load")
    ledger = Ledger()
    in_transaction = asyncio.Event()

    async def ingest(task: str, attempt: int) -> None:
        ids = [f"{task}-{attempt}-{n}" for n in range(5)]
        batch = [
            ConversionInput(
                external_id=external_id,
                value=Decimal("1.50"),
                campaign_id=campaigns[(attempt + n) % CAMPAIGNS],
            )
            for n, external_id in enumerate(ids)
        ]
        try:
            await conversion_ingest_batch(source=ConversionSource.WEBHOOK, conversions=batch)
        except BaseException:
            ledger.unanswered_batches.append(ids)
            raise
        ledger.conversions.update(ids)

    async def add_totals(attempt: int) -> None:
        try:
            await campaign_add_totals(campaign_id=totals_campaign, impressions=1)
        except BaseException:
            ledger.unanswered_impressions += 1
            raise
        ledger.impressions += 1

    async def add_clips(attempt: int) -> None:
        ids = [uuid.uuid4() for _ in range(CLIPS_PER_CALL)]
        clips = [
            NewClip(id=clip_id, start_time=float(n), end_time=float(n) + 1.5, score=0.5)
            for n, clip_id in enumerate(ids)
        ]
        try:
            await clip_bulk_create(asset_id=asset.id, clips=clips)
        except BaseException:
            ledger.unanswered_clips.append(ids)
            raise
        ledger.clips.update(ids)

    async def edit_document(attempt: int) -> None:
        await document_update(document_id=document.id, content=f"rev {attempt}")
        ledger.contents.add(f"rev {attempt}")

    async def worker_batch(attempt: int) -> None:
        # A long-lived worker: one transaction per batch, two services inside it.
        ids = [f"worker-{attempt}-{n}" for n in range(3)]
        batch = [
            ConversionInput(external_id=external_id, value=Decimal(2), campaign_id=worker_campaign)
            for external_id in ids
        ]
        try:
            async with engine.transaction():
                in_transaction.set()
                await conversion_ingest_batch(source=ConversionSource.META, conversions=batch)
                await asyncio.sleep(0.02)
                await campaign_add_totals(campaign_id=worker_campaign, clicks=1)
                in_transaction.clear()
        except BaseException:
            in_transaction.clear()
            ledger.worker_unanswered.append(ids)
            raise
        ledger.worker_batches.append(ids)

    tasks = [Task("ingest-a"), Task("ingest-b"), Task("totals"), Task("clips")]
    tasks += [Task("documents"), Task("worker")]
    writes: list[Callable[[int], Awaitable[None]]] = [
        lambda attempt: ingest("a", attempt),
        lambda attempt: ingest("b", attempt),
        add_totals,
        add_clips,
        edit_document,
        worker_batch,
    ]
    stop = asyncio.Event()
    started = time.monotonic()
    running = [
        asyncio.create_task(task.loop(stop, write))
        for task, write in zip(tasks, writes, strict=True)
    ]

    # when the postmaster is killed a few times mid-load and started again each time
    downtimes: list[float] = []
    recoveries: list[float] = []
    inside_at_kill = 0
    try:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.8, 1.6))  # load runs
            async with asyncio.timeout(5):
                await in_transaction.wait()  # kill while the worker is inside its transaction
            inside_at_kill += in_transaction.is_set()
            killed_at = time.monotonic()
            await server.kill()
            await asyncio.sleep(rng.uniform(0.2, 0.6))  # the server stays down a moment
            await server.start()
            ready_at = time.monotonic()
            downtimes.append(ready_at - killed_at)
            # then every task writes again within seconds, in this same process
            async with asyncio.timeout(RECOVERY_BOUND):
                while True:
                    if all(task.first_write_after(ready_at) for task in tasks):
                        break
                    await asyncio.sleep(0.02)
            recoveries.append(
                max(task.first_write_after(ready_at) or 0.0 for task in tasks) - ready_at
            )
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*running)
    load_seconds = time.monotonic() - started
    # and the pool closes promptly: no connection was left busy on a dead server
    closing = time.monotonic()
    await engine.close_connection_pool()
    close_seconds = time.monotonic() - closing

    assert [task.unexpected for task in tasks] == [[] for _ in tasks]
    assert server.kills == KILLS and inside_at_kill == KILLS
    assert close_seconds < POOL_CLOSE_SECONDS / 2

    # then, read straight from the server: nothing acknowledged is lost, nothing is half done
    connection = await asyncpg.connect(parse_database_url(server.url).dsn)
    try:
        stored = {
            row["external_id"]
            for row in await connection.fetch("SELECT external_id FROM conversions")
        }
        assert ledger.conversions <= stored
        for batch in ledger.unanswered_batches + ledger.worker_unanswered:
            assert len(stored.intersection(batch)) in (0, len(batch)), batch
        clips = {row["id"] for row in await connection.fetch("SELECT id FROM clips")}
        assert ledger.clips <= clips
        for ids in ledger.unanswered_clips:
            assert len(clips.intersection(ids)) in (0, len(ids)), ids
        # every campaign's conversion total is the count of its conversions
        mismatched = await connection.fetch(
            "SELECT c.id, c.total_conversions, count(v.id) AS stored FROM campaigns c "
            "LEFT JOIN conversions v ON v.campaign_id = c.id GROUP BY c.id "
            "HAVING c.total_conversions <> count(v.id)"
        )
        assert mismatched == []
        # the worker's transaction: its clicks count exactly the batches that committed
        committed = sum(
            1 for batch in ledger.worker_batches + ledger.worker_unanswered if batch[0] in stored
        )
        assert all(batch[0] in stored for batch in ledger.worker_batches)
        worker = await connection.fetchrow(
            "SELECT total_clicks, total_conversions FROM campaigns WHERE id = $1", worker_campaign
        )
        assert worker is not None
        assert (worker["total_clicks"], worker["total_conversions"]) == (committed, 3 * committed)
        # single-statement totals: every acknowledged one counted, an unanswered one maybe
        impressions = await connection.fetchval(
            "SELECT total_impressions FROM campaigns WHERE id = $1", totals_campaign
        )
        assert (
            ledger.impressions <= impressions <= ledger.impressions + ledger.unanswered_impressions
        )
        # document edits: version and history row together, every acknowledged edit kept
        current = await connection.fetchrow(
            "SELECT version, content FROM knowledge_documents WHERE id = $1", document.id
        )
        history = await connection.fetch(
            "SELECT version, content FROM knowledge_document_versions WHERE document_id = $1 "
            "ORDER BY version",
            document.id,
        )
        assert current is not None
        assert [row["version"] for row in history] == list(range(1, current["version"]))
        assert ledger.contents <= {row["content"] for row in history} | {current["content"]}
    finally:
        await connection.close()

    acknowledged = sum(task.acknowledged for task in tasks)
    failed = sum(sum(task.failures.values()) for task in tasks)
    print(
        f"\nSIGKILL under load: {acknowledged} writes acknowledged "
        f"({', '.join(f'{task.name} {task.acknowledged}' for task in tasks)}), none lost; "
        f"{server.kills} kills, each with the worker inside a transaction; "
        f"{failed} calls failed, all DatabaseUnavailableError; "
        f"server down {', '.join(f'{d:.2f}' for d in downtimes)} s; "
        f"every task wrote again {', '.join(f'{r:.2f}' for r in recoveries)} s after the restart; "
        f"{len(stored)} conversions, totals exact; pool closed in {close_seconds:.2f} s; "
        f"load ran {load_seconds:.1f} s"
    )


def _fatal_arrives(connection: asyncpg.Connection) -> None:
    """Deliver the FATAL message a dying backend sends (as after a postmaster's SIGKILL) to
    an idle connection, before the end of its socket is read: the moment at which the
    load test above found asyncpg raising a raw InternalClientError."""
    fields = b"SFATAL\0C57P01\0Mterminating connection due to unexpected postmaster exit\0\0"
    message = b"E" + (len(fields) + 4).to_bytes(4, "big") + fields
    target = getattr(connection, "_con", connection)  # a pool's proxy holds the connection
    target._protocol.data_received(message)


async def test_a_connection_whose_backend_died_while_idle_gives_typed_errors() -> None:
    url = f"{TEST_URL}&connection_limit=1&pool_timeout=2"
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        # given the pool's idle connection hit by its backend's last message, when a
        # transaction begins on it, then the error is typed and the next call works
        connection = await engine.acquire_connection()
        idle = connection._con
        await engine.release_connection(connection)
        _fatal_arrives(idle)
        with pytest.raises(DatabaseUnavailableError, match="connection failed"):
            async with engine.transaction():
                pass
        assert await rawsql.fetchval(engine, "SELECT 1") == 1
        # when it happens inside a transaction and a Piccolo query runs next
        with pytest.raises(DatabaseUnavailableError, match="connection failed"):
            async with engine.transaction() as transaction:
                _fatal_arrives(transaction.connection)
                await engine.run_ddl("SELECT 2")
        assert engine.current_transaction.get() is None
        assert await rawsql.fetchval(engine, "SELECT 3") == 3
        # when a Piccolo query borrows such a connection outside a transaction
        connection = await engine.acquire_connection()
        idle = connection._con
        await engine.release_connection(connection)
        _fatal_arrives(idle)
        with pytest.raises(DatabaseUnavailableError, match="connection failed"):
            await engine.run_ddl("SELECT 4")
        assert await rawsql.fetchval(engine, "SELECT 5") == 5
    finally:
        await engine.close_connection_pool()
