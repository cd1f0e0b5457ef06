"""The command line as a person meets it: help starts nothing, failures are one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

UNREACHABLE = "postgresql://nobody:secret@127.0.0.1:9/nowhere"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def piccolo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, _ANSI.sub("", result.stdout), _ANSI.sub("", result.stderr)
    )


def embedded_env(data_dir: Path) -> dict[str, str]:
    """No DATABASE_URL: the embedded server in ``data_dir`` would be used (and started)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return env | {"GATEWAYDB_ENVIRONMENT": "test", "GATEWAYDB_DATA_DIR": str(data_dir)}


@pytest.mark.parametrize(
    "args",
    [
        ("db", "--help"),
        ("db",),
        ("db", "backup", "--help"),
        ("migrations", "--help"),
        ("meta", "version"),
        ("db", "no-such-verb"),
    ],
    ids=lambda args: " ".join(args),
)
def test_help_version_and_argument_errors_start_no_server(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    data_dir = tmp_path / "pg"
    result = piccolo(*args, env=embedded_env(data_dir))
    assert "Traceback" not in result.stderr
    assert not data_dir.exists(), f"piccolo {' '.join(args)} started the embedded server"


def test_the_db_group_help_lists_its_verbs(tmp_path: Path) -> None:
    for args in (("db",), ("db", "--help")):
        result = piccolo(*args, env=embedded_env(tmp_path / "pg"))
        assert result.returncode == 0
        assert "Unrecognised command" not in result.stdout
        assert "Usage: piccolo db <command> [--help]" in result.stdout
        listing = result.stdout.split("--------\n")[1]
        verbs = re.findall(r"^([\w-]+)$", listing, flags=re.MULTILINE)
        assert verbs == ["deploy", "seed", "reset", "backup", "restore", "roles", "drift",
                         "doctor", "studio", "sql", "stats", "import-prisma",
                         "partitions"]  # fmt: skip


def test_verb_help_shows_only_real_arguments(tmp_path: Path) -> None:
    result = piccolo("db", "reset", "--help", env=embedded_env(tmp_path / "pg"))
    assert result.returncode == 0
    assert "reset [--yes] [--no_seed]" in result.stdout
    arguments = result.stdout.split("Args\n----\n")[1]
    names = re.findall(r"^(\w+) \[default", arguments, flags=re.MULTILINE)
    assert names == ["yes", "no_seed"]
    assert "return" not in result.stdout.split()
    assert "options" not in result.stdout.split()


def test_an_unknown_verb_is_one_error_line(tmp_path: Path) -> None:
    result = piccolo("db", "no-such-verb", env=embedded_env(tmp_path / "pg"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "error: piccolo db: unknown command 'no-such-verb'"


@pytest.mark.parametrize(
    "args",
    [
        ("migrations", "forwards", "all"),
        (
            "user",
            "create",
            "--username=ada",
            "--email=a@example.com",
            "--password=a-long-password",
            "--is_admin=t",
            "--is_superuser=f",
            "--is_active=t",
        ),
        ("db", "studio", "--port=1"),
        ("db", "seed"),
        ("db", "backup", "b.dump"),
        ("db", "deploy"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unreachable_database_is_one_error_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    env = {**os.environ, "DATABASE_URL": UNREACHABLE, "GATEWAYDB_CONNECT_TIMEOUT": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=tmp_path if args[1] == "backup" else PROJECT_ROOT,
        env=env | {"PYTHONPATH": str(PROJECT_ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert "cannot connect to the database" in errors[0]
    assert "secret" not in result.stderr + result.stdout
    assert "Usage" not in result.stdout and "Traceback" not in result.stdout
