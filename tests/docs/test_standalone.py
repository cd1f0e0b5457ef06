"""The repository stands alone: no file points at material a clone does not have."""

from __future__ import annotations

import subprocess

from tests.conftest import PROJECT_ROOT

# Spelt in pieces, so that this file does not name them itself.
_SHARED = "sha" + "red"
OUTSIDE = (
    f"../{_SHARED}",
    f"/work/{_SHARED}",
    "DATA" + "_MODEL.md",
    "STYLE" + ".md",
    "BENCH" + "MARKING.md",
)


def test_no_tracked_file_names_material_outside_the_repository() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, listed):
        path = PROJECT_ROOT / name.decode()
        if not path.is_file() or path.suffix in {".svg", ".png", ".dump"}:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name.decode()}: {needle}" for needle in OUTSIDE if needle in text]
    assert offenders == []
