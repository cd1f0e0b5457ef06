"""Backups made and taken apart for the restore scenarios, on the real test server."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from apps.core.dburl import parse_database_url
from apps.db.manifest import DUMP_NAME, MANIFEST_NAME, pack, seal
from apps.db.pgtools import find_client_tool, libpq_target
from tests.db.helpers import piccolo_db


def backup(url: str, path: Path) -> float:
    """``piccolo db backup`` of ``url`` to ``path``; the seconds it took."""
    started = time.perf_counter()
    result = piccolo_db("backup", str(path), url=url)
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - started


def pg_dump(url: str, path: Path, *options: str) -> None:
    """A bare pg_dump custom-format archive of ``url``."""
    dsn, env = libpq_target(parse_database_url(url))
    tool = find_client_tool("pg_dump", server_major=18)
    subprocess.run(
        [str(tool), "--format=custom", f"--file={path}", f"--dbname={dsn}", *options],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def read_backup(path: Path, folder: Path) -> tuple[dict[str, Any], Path]:
    """(manifest, dump extracted into ``folder``) of a backup, without any check."""
    with tarfile.open(path, "r:") as archive:
        manifest_file = archive.extractfile(MANIFEST_NAME)
        dump_file = archive.extractfile(DUMP_NAME)
        assert manifest_file is not None and dump_file is not None
        manifest: dict[str, Any] = json.loads(manifest_file.read())
        dump = folder / "inner.dump"
        dump.write_bytes(dump_file.read())
    return manifest, dump


def rebuild(manifest: dict[str, Any], dump: Path, target: Path) -> Path:
    """A backup of ``dump`` whose manifest is ``manifest`` with the dump's real size and
    sha256 and a valid seal: consistent in itself, whatever it claims."""
    import hashlib

    data = dump.read_bytes()
    body = {**manifest, "dump": {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}
    target.touch(mode=0o600)
    pack(dump=dump, manifest=seal(body), target=target)
    return target


def dump_offset(path: Path) -> tuple[int, int]:
    """(offset, size) of the pg_dump archive inside a backup file."""
    with tarfile.open(path, "r:") as archive:
        member = archive.getmember(DUMP_NAME)
        return member.offset_data, member.size


def flip_bit(source: Path, target: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(source.read_bytes())
    data[offset] ^= 1 << bit
    target.write_bytes(bytes(data))
