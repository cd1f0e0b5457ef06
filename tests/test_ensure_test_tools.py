"""scripts/ensure_test_tools.sh, which `make test` runs before the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "ensure_test_tools.sh"


def test_make_test_runs_it_before_the_suite() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    test_target = makefile.split("\ntest: ")[1].split("\n\n")[0]
    assert test_target.splitlines()[1:] == [
        "\tscripts/ensure_test_tools.sh",
        "\t$(BIN)/pytest -p no:cacheprovider",
    ]
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_installed_tools_need_nothing() -> None:
    result = subprocess.run([SCRIPT], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_root_or_sudo_it_stops_with_one_line(tmp_path: Path) -> None:
    # given a user who is not root, with no sudo on PATH, no chromium and no pgbouncer
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "util-linux's setpriv is part of Debian's base"
    bash = shutil.which("bash")
    assert bash is not None
    env = {
        "PATH": "/nonexistent",
        "CHROMIUM_PATH": str(tmp_path / "no-chromium"),
        "PGBOUNCER_PATH": str(tmp_path / "no-pgbouncer"),
    }
    # when the script runs
    result = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bash, str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    # then it fails with one line saying what to run
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the test suite needs Debian's chromium pgbouncer; run"
        " 'sudo apt-get install -y chromium pgbouncer' (not root, no passwordless sudo)"
    ]
    assert os.access(SCRIPT, os.X_OK)
