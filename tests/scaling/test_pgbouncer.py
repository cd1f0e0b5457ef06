"""PgBouncer in transaction pooling mode (Debian's pgbouncer, started by the tests).

`make test-pgbouncer` runs the service and admin suites with every connection of the suite
going through a bouncer (tests/conftest.py); these tests check the edges: that the run really
goes through it, what the engine does differently, and that the schema-changing commands
refuse it.
"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator

import pytest

from apps.core.dburl import parse_database_url
from apps.core.embedded import client_binary
from apps.core.engine import GatewayEngine
from apps.core.errors import ConfigurationError
from apps.users.services import user_create
from apps.users.tables import User
from tests import conftest
from tests.conftest import SERVER_URL, TEST_DATABASE, run_piccolo
from tests.core.statements import detached
from tests.scaling.pgbouncer import Bouncer


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    """The suite's bouncer in `make test-pgbouncer`, else one for this module."""
    if conftest.BOUNCER is not None:
        yield conftest.BOUNCER
        return
    own = Bouncer(SERVER_URL)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def _console(bouncer: Bouncer, command: str) -> list[dict[str, str]]:
    # PgBouncer's admin console (the virtual database "pgbouncer") speaks only the simple
    # query protocol, which asyncpg cannot read rows from: ask psql, in CSV.
    url = bouncer.url("pgbouncer").replace("&pgbouncer=true", "")
    result = subprocess.run(
        [str(client_binary("psql")), url, "--csv", "-c", command],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return list(csv.DictReader(io.StringIO(result.stdout)))


async def test_services_work_through_pgbouncer_in_transaction_mode(bouncer: Bouncer) -> None:
    # given an engine whose URL points at the bouncer
    url = parse_database_url(bouncer.url(TEST_DATABASE))
    assert url.pgbouncer and url.asyncpg_arguments()["statement_cache_size"] == 0
    engine = GatewayEngine(url=url, pool_min_size=0, pool_max_size=4)
    await engine.start_connection_pool()
    saved = User._meta.db
    try:
        User._meta.db = engine
        async with detached():
            # when a service writes in its own transaction and reads back, many times over
            # (each statement may land on another server connection of the bouncer's pool)
            created = [
                await user_create(email=f"pgb-{n}@example.com", name=f"Bouncer {n}")
                for n in range(20)
            ]
            try:
                count = await User.count().where(User.email.like("pgb-%@example.com"))
                # then every write is there
                assert count == 20
            finally:
                await User.delete().where(User.id.is_in([user.id for user in created]))
    finally:
        User._meta.db = saved
        await engine.close_connection_pool()
    # and the bouncer saw the traffic, in transaction pooling mode
    pools = {row["database"]: row for row in _console(bouncer, "SHOW POOLS")}
    assert pools[TEST_DATABASE]["pool_mode"] == "transaction"


def test_the_suites_connections_go_where_the_mode_says(bouncer: Bouncer) -> None:
    from piccolo_conf import DB

    clients = {row["database"] for row in _console(bouncer, "SHOW CLIENTS")}
    if conftest.BOUNCER is not None:
        # `make test-pgbouncer`: the suite's own pool is a client of the bouncer
        assert DB.url.pgbouncer
        assert TEST_DATABASE in clients
    else:
        assert not DB.url.pgbouncer


def test_deploy_refuses_pgbouncer_and_says_what_to_do(bouncer: Bouncer) -> None:
    # when `piccolo db deploy` is pointed at the bouncer
    result = run_piccolo("db", "deploy", url=bouncer.url(TEST_DATABASE), check=False)
    # then it stops with one line naming the reason and the fix, and changes nothing
    assert result.returncode == 1
    assert result.stderr.startswith("error: deploy, reset and restore need a direct connection")
    assert "DATABASE_MIGRATION_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_schema_parameter_is_refused_with_pgbouncer() -> None:
    with pytest.raises(ConfigurationError, match="schema cannot be used with pgbouncer") as caught:
        parse_database_url("postgresql://app@bouncer/gateway?pgbouncer=true&schema=tenant")
    assert (caught.value.field, caught.value.rule) == ("schema", "pgbouncer_incompatible")
