"""The migration lint (scripts/squawk.sh): the project's migrations pass; a risky one fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.db.helpers import command_env


def _squawk(url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/squawk.sh"],
        cwd=PROJECT_ROOT,
        env={**command_env(url, **extra), "BIN": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_the_migrations_of_the_project_pass_the_lint(migrated_database: str) -> None:
    # given the committed migrations
    # when the lint runs
    result = _squawk(migrated_database)
    # then it passes
    assert result.returncode == 0, result.stdout + result.stderr


async def test_an_index_built_without_concurrently_fails_the_lint_naming_the_rule(
    migrated_database: str,
) -> None:
    # given an app whose second migration indexes an existing table without CONCURRENTLY
    # when the lint runs
    result = _squawk(migrated_database, PICCOLO_CONF="tests.db.fixtures.risky_conf")
    # then it fails naming the migration file and the rule
    assert result.returncode != 0
    assert "risky/risky_2026_01_02t00_00_00_000000.sql" in result.stdout
    assert "require-concurrent-index-creation" in result.stdout
    assert "risky_2026_01_01t00_00_00_000000.sql" not in result.stdout
