"""Read replicas against a real streaming standby of the test server.

A hot standby is made with ``pg_basebackup -R`` and started beside the embedded primary. The
engine of ``piccolo_conf`` gets it as its replica for the module; reads run outside the
test's transaction (``detached``), as they do in production, and rows they need are
committed and removed again.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from apps.core import rawsql
from apps.core.dburl import parse_database_url
from apps.core.engine import GatewayEngine, build_engine
from apps.core.errors import ConfigurationError
from apps.core.replicas import Replica, ReplicaSet, lag_tolerant, read_your_writes
from apps.core.settings import Settings
from apps.users.selectors import user_get
from apps.users.services import user_create
from apps.users.tables import User
from tests.conftest import SERVER_URL, TEST_DATABASE
from tests.core.statements import detached
from tests.scaling.standby import Standby

pytestmark = pytest.mark.replica


@pytest.fixture(scope="module")
def standby() -> Iterator[Standby]:
    node = Standby(SERVER_URL, Path(tempfile.mkdtemp(prefix="gwsb-")))
    node.create()
    node.start()
    try:
        yield node
    finally:
        node.destroy()


@pytest.fixture
async def replicas(standby: Standby) -> AsyncIterator[ReplicaSet]:
    """The project's engine with the standby as its one replica, for one test."""
    from piccolo_conf import DB

    replica_engine = GatewayEngine(
        url=parse_database_url(standby.url(TEST_DATABASE)), pool_min_size=0, node="replica-1"
    )
    replica_set = ReplicaSet(
        [Replica(name="replica-1", engine=replica_engine)],
        max_lag=5.0,
        lag_check_seconds=0.05,
        retry_seconds=0.2,
    )
    saved = DB.replicas
    DB.replicas = replica_set
    await replica_set.start()
    try:
        yield replica_set
    finally:
        DB.replicas = saved
        await replica_set.close()


@lag_tolerant
async def in_recovery() -> bool:
    """A lag-tolerant read that tells which node served it."""
    value: bool = await rawsql.fetchval(rawsql.engine_of(User), "SELECT pg_is_in_recovery()")
    return value


async def eventually_on_the_replica(seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await in_recovery():
        assert time.monotonic() < deadline, f"reads did not return to the replica in {seconds} s"
        await asyncio.sleep(0.05)


async def test_lag_tolerant_reads_land_on_the_replica(replicas: ReplicaSet) -> None:
    async with detached():
        # when a lag-tolerant selector reads; then the standby (in recovery) served it
        assert await in_recovery() is True
        # a plain read, outside any lag-tolerant selector, stays on the primary
        assert await rawsql.fetchval(rawsql.engine_of(User), "SELECT pg_is_in_recovery()") is False
    assert replicas.replicas[0].reads == 1
    # inside a transaction (the test's own) every read is on the primary
    assert await in_recovery() is False


async def test_read_your_writes_sees_the_write(replicas: ReplicaSet) -> None:
    email = f"ryw-{uuid.uuid4().hex[:8]}@example.com"
    async with detached():
        # given a user committed on the primary
        user = await user_create(email=email, name="Read Your Writes")
        try:
            # when the next read asks for read-your-writes
            with read_your_writes():
                on_replica = await in_recovery()
                found = await lag_tolerant(user_get)(user_id=user.id)
            # then it ran on the primary and sees the write
            assert on_replica is False and found.email == email
            # and the replica catches up on its own
            started = time.monotonic()
            while True:
                try:
                    await lag_tolerant(user_get)(user_id=user.id)
                    break
                except Exception:
                    assert time.monotonic() - started < 30
                    await asyncio.sleep(0.01)
        finally:
            await User.delete().where(User.id == user.id)


async def test_a_stopped_replica_sends_reads_to_the_primary_and_they_return(
    standby: Standby, replicas: ReplicaSet
) -> None:
    async with detached():
        # given reads served by the replica (its pool holds a connection)
        assert await in_recovery() is True
        # when the replica stops mid-run
        standby.stop()
        try:
            # then reads go to the primary and none fails
            for _ in range(5):
                assert await in_recovery() is False
            assert replicas.replicas[0].failures >= 1
        finally:
            standby.start()
        # and once it is back, reads return to it
        await eventually_on_the_replica()


async def test_a_replica_lagging_past_the_bound_is_skipped(
    standby: Standby, replicas: ReplicaSet
) -> None:
    replicas.max_lag = 0.2
    control = await asyncpg.connect(parse_database_url(standby.url(TEST_DATABASE)).dsn)
    try:
        async with detached():
            await eventually_on_the_replica()
            # given a standby that stops replaying while the primary keeps writing
            await control.execute("SELECT pg_wal_replay_pause()")
            user = await user_create(email=f"lag-{uuid.uuid4().hex[:8]}@example.com", name="Lag")
            try:
                await asyncio.sleep(0.5)
                # when a lag-tolerant read runs; then the primary serves it
                assert await in_recovery() is False
                assert replicas.replicas[0].lag_seconds is not None
                assert replicas.replicas[0].lag_seconds > 0.2
                # and once the standby replays again, reads return to it
                await control.execute("SELECT pg_wal_replay_resume()")
                await eventually_on_the_replica()
            finally:
                await User.delete().where(User.id == user.id)
    finally:
        await control.execute("SELECT pg_wal_replay_resume()")
        await control.close()


def test_replica_urls_come_from_the_settings() -> None:
    settings = Settings(
        database_url="postgresql://app@db.internal/gateway",
        database_replica_urls="postgresql://app@r1.internal/gateway, postgresql://app@r2/gateway",
    )
    engine = build_engine(settings)
    # Piccolo's extra_nodes and the replica set name the same two nodes
    assert sorted(engine.extra_nodes) == ["replica-1", "replica-2"]
    assert [r.name for r in engine.replicas.replicas] == ["replica-1", "replica-2"]
    assert engine.replicas.max_lag == settings.database_replica_max_lag


def test_a_bad_replica_url_is_a_clear_error() -> None:
    settings = Settings(
        database_url="postgresql://app@db.internal/gateway",
        database_replica_urls="postgresql://app@r1.internal/gateway,mysql://r2/gateway",
    )
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_URLS, URL 2") as caught:
        build_engine(settings)
    assert caught.value.field == "DATABASE_REPLICA_URLS"
