"""The command line as a person meets it: help is cheap, failures are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.core.dburl import DatabaseUrl, parse_database_url
from apps.core.engine import GatewayEngine
from tests.conftest import PROJECT_ROOT


def piccolo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real ``piccolo`` CLI with exactly ``env`` on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYDB_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [("db", "--help"), ("migrations", "--help"), ("db", "seed", "--help"), ("--help",)],
)
def test_help_does_not_start_the_embedded_server(args: tuple[str, ...], tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "postgres"
    result = piccolo(*args, env={"GATEWAYDB_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data").exists()


async def test_a_lazy_engine_resolves_its_url_on_first_use() -> None:
    calls: list[int] = []

    def resolve() -> DatabaseUrl:
        calls.append(1)
        return parse_database_url(os.environ["DATABASE_URL"])

    engine = GatewayEngine(url=resolve)
    assert calls == []
    rows = await engine._run_in_new_connection("SELECT 1 AS one")
    assert [dict(row) for row in rows] == [{"one": 1}]
    await engine._run_in_new_connection("SELECT 1")
    assert calls == [1]
    assert engine.url.database == "gatewaydb_test"


def test_an_unknown_gatewaydb_variable_stops_a_command_with_one_line() -> None:
    result = piccolo("db", "doctor", env={"GATEWAYDB_POOL_TIMOUT": "3"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: unknown setting GATEWAYDB_POOL_TIMOUT (not a GATEWAYDB_* setting); "
        "did you mean GATEWAYDB_POOL_TIMEOUT?"
    ]
