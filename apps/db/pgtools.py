"""The PostgreSQL client tools (pg_dump, pg_restore, psql) matching the server's version.

A tool of another major version is never used silently: pg_dump refuses newer servers, and
the SQL of a newer pg_restore may not run on an older server. The embedded server's wheel
ships version 18; for another server, put the right tools on PATH, in
``/usr/lib/postgresql/<major>/bin`` (Debian's layout) or in ``GATEWAYDB_PG_BIN_DIR``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from apps.core.dburl import DatabaseUrl
from apps.core.embedded import client_binary
from apps.db.errors import ClientToolError


def tool_major_version(path: Path) -> int | None:
    """The major version ``path --version`` reports, or None when it does not run."""
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def _candidates(name: str, server_major: int, bin_dir: Path | None) -> list[Path]:
    candidates: list[Path] = []
    if bin_dir is not None:
        candidates.append(bin_dir / name)
    # No embedded wheel for this platform: look elsewhere.
    with contextlib.suppress(Exception):
        candidates.append(client_binary(name))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path(f"/usr/lib/postgresql/{server_major}/bin/{name}"))
    return candidates


def find_client_tool(name: str, *, server_major: int, bin_dir: Path | None = None) -> Path:
    """The first ``name`` of major version ``server_major``; else a ClientToolError."""
    seen: list[str] = []
    for candidate in _candidates(name, server_major, bin_dir):
        if not candidate.is_file():
            continue
        major = tool_major_version(candidate)
        if major == server_major:
            return candidate
        seen.append(f"{candidate} is version {major}")
    found = "; ".join(seen) if seen else f"no {name} found"
    raise ClientToolError(
        f"the server runs PostgreSQL {server_major} but no {name} {server_major} was found "
        f"({found}); install the PostgreSQL {server_major} client tools or set "
        "GATEWAYDB_PG_BIN_DIR to their folder"
    )


def libpq_target(url: DatabaseUrl) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it.

    The password goes through ``PGPASSWORD`` so that it never shows in a process list.
    """
    parts = urlsplit(url.dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}@" if parts.username else ""
    dsn = urlunsplit(parts._replace(netloc=user + host))
    env: dict[str, str] = {}
    if url.password is not None:
        env["PGPASSWORD"] = url.password
    if url.connect_timeout:
        env["PGCONNECT_TIMEOUT"] = str(max(1, round(url.connect_timeout)))
    return dsn, env
