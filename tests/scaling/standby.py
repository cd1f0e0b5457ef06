"""A real streaming replica of the test server: ``pg_basebackup -R``, then a hot standby.

The embedded server's binaries include ``pg_basebackup``; the standby runs from its own data
directory with its own unix socket, beside the primary, and streams from it over the
primary's socket (initdb's pg_hba trusts local replication connections). When the tests run
as root the embedded server runs as the ``pgserver`` system user; so does the standby.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from apps.core.embedded import client_binary


def _as_server_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    return {"user": "pgserver", "group": pwd.getpwnam("pgserver").pw_gid}


@dataclass
class Standby:
    """A hot standby of the server at ``primary_url`` living in ``folder``."""

    primary_url: str
    folder: Path

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        """The standby's URL for ``database`` (its socket lives in its data directory)."""
        return f"postgresql://postgres:@/{database}?host={self.data_dir}"

    def log_tail(self) -> str:
        log = self.folder / "log"
        return "\n".join(log.read_text().splitlines()[-20:]) if log.exists() else ""

    def _run(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            [str(client_binary(tool)), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **_as_server_user(),
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(args)} failed:\n{result.stderr}\n{self.log_tail()}"
            )
        output: str = result.stdout
        return output

    def create(self) -> None:
        """Copy the primary with ``pg_basebackup -R`` (which writes standby.signal)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="pgserver", group=pwd.getpwnam("pgserver").pw_gid)
        host = parse_qs(urlsplit(self.primary_url).query)["host"][0]
        self._run(
            "pg_basebackup",
            "-D", str(self.data_dir),
            "-R", "-X", "stream", "-c", "fast",
            "-h", str(host), "-U", "postgres",
        )  # fmt: skip
        # The primary keeps its socket in its data directory: the copy holds its lock file.
        for leftover in self.data_dir.glob(".s.PGSQL.*"):
            leftover.unlink()

    def start(self) -> None:
        """Start the standby and wait until it accepts reads."""
        options = f"-k {self.data_dir} -c listen_addresses='' -c hot_standby=on"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.folder / "log"),
            "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the standby now (fast shutdown: open connections are cut)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_for(condition: Any, *, seconds: float = 30.0) -> None:
    """Poll ``condition()`` until it is true (a standby catching up); fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{condition} did not hold within {seconds} s")
        time.sleep(0.05)
