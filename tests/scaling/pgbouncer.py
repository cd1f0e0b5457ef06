"""A real PgBouncer (Debian's ``pgbouncer``) in transaction pooling mode in front of a server.

``make test`` installs the package when it is missing (scripts/ensure_test_tools.sh). The
bouncer listens on a unix socket in its own folder and forwards every database to the
server's socket; it trusts local clients like the embedded server does. PgBouncer refuses to
run as root: when the tests run as root it runs as the embedded server's ``pgserver`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PGBOUNCER = Path(os.environ.get("PGBOUNCER_PATH", "/usr/sbin/pgbouncer"))
PORT = 6432


@dataclass
class Bouncer:
    """A running pgbouncer forwarding to the server at ``server_url``."""

    server_url: str
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gwpb-")))
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        """A URL for ``database`` through the bouncer, with ``pgbouncer=true``."""
        return f"postgresql://postgres:@/{database}?host={self.folder}&port={PORT}&pgbouncer=true"

    def start(self) -> None:
        server = urlsplit(self.server_url)
        socket_dir = parse_qs(server.query)["host"][0]
        (self.folder / "userlist.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={socket_dir} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr =\n"
            f"listen_port = {PORT}\n"
            f"unix_socket_dir = {self.folder}\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            "max_client_conn = 500\n"
            "default_pool_size = 20\n"
            "admin_users = postgres\n"
            # asyncpg sends these at connect time; the server defaults are the same.
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        user: str | None = None
        group: int | None = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("pgserver")
            shutil.chown(self.folder, user="pgserver", group=account.pw_gid)
            for name in ("userlist.txt", "pgbouncer.ini"):
                shutil.chown(self.folder / name, user="pgserver", group=account.pw_gid)
            user, group = "pgserver", account.pw_gid
        self.process = subprocess.Popen(
            [str(PGBOUNCER), str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user,
            group=group,
        )
        socket = self.folder / f".s.PGSQL.{PORT}"
        deadline = time.monotonic() + 10
        while not socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pgbouncer did not start:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)
