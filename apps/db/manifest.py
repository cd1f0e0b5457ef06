"""What a restore checks an archive holds before it touches the database.

A readable pg_dump archive is not enough: a dump of another database, or one made with
``--exclude-table``, would replace this project's tables with something else, or drop some.
The archive's table of contents (``pg_restore --list``) must hold the definition and the
data of every table this project's apps define, and of the migration history.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

from apps.db.errors import ArchiveError

# "1234; 1259 16390 TABLE public users owner" / "...; 0 16390 TABLE DATA public users owner"
_ENTRY = re.compile(
    r"^\d+;\s+\d+\s+\d+\s+(?P<kind>TABLE DATA|TABLE)\s+(?P<schema>\S+)\s+(?P<name>\S+)"
)


def project_tables() -> set[str]:
    """The tables of every app in ``piccolo_conf`` and the migration history table."""
    from piccolo.conf.apps import Finder

    return {table._meta.tablename for table in Finder().get_table_classes()} | {"migration"}


# The monthly partitions of a partitioned table (conversions_y2026m12,
# conversions_before_y2026m12) hold its data: the parent has no TABLE DATA entry.
_PARTITION = re.compile(r"^(?P<parent>\w+?)_(?:before_)?y\d{4}m\d{2}$")


def archive_tables(listing: str) -> tuple[set[str], set[str]]:
    """(tables defined, tables with data) in a ``pg_restore --list`` listing of ``public``."""
    defined: set[str] = set()
    with_data: set[str] = set()
    for line in listing.splitlines():
        match = _ENTRY.match(line.strip())
        if not match or match.group("schema") != "public":
            continue
        name = match.group("name")
        if match.group("kind") == "TABLE DATA":
            with_data.add(name)
            partition = _PARTITION.match(name)
            if partition:
                with_data.add(partition.group("parent"))
        else:
            defined.add(name)
    return defined, with_data


def verify_table_of_contents(listing: str, *, path: Path) -> None:
    """Raise :class:`ArchiveError` unless the archive holds every table of this project."""
    defined, with_data = archive_tables(listing)
    expected = project_tables()
    missing = sorted(expected - defined)
    if len(missing) == len(expected):
        raise ArchiveError(
            f"{path} is not a backup of this project's database (none of its tables is in "
            "it); nothing was restored"
        )
    if missing:
        raise ArchiveError(
            f"{path} lacks the table(s) {', '.join(missing)} (a partial dump?); "
            "nothing was restored"
        )
    no_data = sorted(expected - with_data)
    if no_data:
        raise ArchiveError(
            f"{path} lacks the rows of {', '.join(no_data)} (a partial dump?); nothing was restored"
        )


# --- The backup file and its manifest -----------------------------------------------------
#
# A backup is ONE uncompressed tar file holding exactly two members, in this order:
#   manifest.json   what the backup holds (below), sealed by its own sha256
#   database.dump   the pg_dump custom-format archive
# The manifest is a JSON object:
#   format          "gatewaydb-backup"
#   version         1 (FORMAT_VERSION)
#   created_at      ISO 8601 UTC time of the snapshot
#   server_version  server_version_num of the source server
#   migrations      {app_name: [migration ids applied, sorted]}, from the migration history
#   tables          {table: {"rows": n, "md5": hex}} for every table of schema public
#   dump            {"bytes": n, "sha256": hex} of database.dump
#   checksum        sha256 of the canonical JSON (sorted keys, no spaces) of all the above
# Row counts, checksums and the dump come from one REPEATABLE READ snapshot.

FORMAT = "gatewaydb-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"
_MANIFEST_MAX_BYTES = 16 * 1024 * 1024
_HEX = re.compile(r"^[0-9a-f]+$")

# Every table's text form is the same on any session: fixed output settings, byte order.
CHECKSUM_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)
_CHECKSUM_TEMPLATE = (
    "SELECT count(*)::bigint, "
    "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) "
    "FROM public.{table} AS t"
)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def checksum_query(table: str) -> str:
    """(row count, md5 of the rows' text in byte order) of ``public.table``."""
    return _CHECKSUM_TEMPLATE.format(table=quote_identifier(table))


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal(body: dict[str, Any]) -> bytes:
    """The manifest file for ``body``: the body plus the sha256 of its canonical form."""
    unsealed = {key: value for key, value in body.items() if key != "checksum"}
    sealed = {**unsealed, "checksum": hashlib.sha256(_canonical(unsealed)).hexdigest()}
    return json.dumps(sealed, sort_keys=True, indent=1).encode() + b"\n"


def _damaged(path: Path, what: str) -> ArchiveError:
    return ArchiveError(f"{path} is damaged: {what}; nothing was restored")


def _check_shape(manifest: dict[str, Any], path: Path) -> None:
    migrations = manifest.get("migrations")
    if not isinstance(migrations, dict) or not all(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids)
        for ids in migrations.values()
    ):
        raise _damaged(path, "the manifest's migrations are malformed")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("rows"), int)
        and isinstance(entry.get("md5"), str)
        and _HEX.match(entry["md5"])
        for entry in tables.values()
    ):
        raise _damaged(path, "the manifest's tables are malformed")
    dump = manifest.get("dump")
    if not (
        isinstance(dump, dict)
        and isinstance(dump.get("bytes"), int)
        and isinstance(dump.get("sha256"), str)
    ):
        raise _damaged(path, "the manifest's dump entry is malformed")


def unseal(data: bytes, *, path: Path) -> dict[str, Any]:
    """The manifest in ``data``; ArchiveError unless it is intact and of a known version."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise _damaged(path, "its manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(path, "its manifest is not a gatewaydb backup manifest")
    claimed = manifest.get("checksum")
    unsealed = {key: value for key, value in manifest.items() if key != "checksum"}
    if claimed != hashlib.sha256(_canonical(unsealed)).hexdigest():
        raise _damaged(path, "its manifest does not match its own checksum")
    version = manifest.get("version")
    if version != FORMAT_VERSION:
        raise ArchiveError(
            f"{path} is a backup of format version {version}; this version of gatewaydb "
            f"restores version {FORMAT_VERSION} only; nothing was restored"
        )
    _check_shape(manifest, path)
    return manifest


def pack(*, dump: Path, manifest: bytes, target: Path) -> None:
    """Write the backup file ``target`` (already created, owner-only) from its two parts."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(manifest)
        info.mode = 0o600
        archive.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo(DUMP_NAME)
        info.size = dump.stat().st_size
        info.mode = 0o600
        with dump.open("rb") as source:
            archive.addfile(info, source)


def unpack(path: Path, *, folder: Path) -> tuple[dict[str, Any], Path]:
    """(manifest, extracted dump) of the backup ``path``, the dump checked against the manifest.

    Raises ArchiveError for a missing file, a bare pg_dump archive, anything that is not a
    backup, a truncated file, a manifest that fails its checksum, and a dump whose size or
    sha256 differs from the manifest's (one flipped bit anywhere).
    """
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist or is not a file")
    with path.open("rb") as head:
        if head.read(5) == b"PGDMP":
            raise ArchiveError(
                f"{path} is a bare pg_dump archive without a manifest, not a backup made by "
                "`piccolo db backup`; nothing was restored"
            )
    try:
        # Opened apart from the `with` below: a failure here means "not a tar file at all".
        archive = tarfile.open(path, "r:")  # noqa: SIM115
    except tarfile.TarError:
        raise ArchiveError(
            f"{path} is not a gatewaydb backup (not a tar file with a manifest); "
            "nothing was restored"
        ) from None
    try:
        with archive:
            members = archive.getmembers()
            names = [member.name for member in members]
            if names != [MANIFEST_NAME, DUMP_NAME] or not all(m.isreg() for m in members):
                raise ArchiveError(
                    f"{path} is not a gatewaydb backup (it holds {', '.join(names) or 'nothing'}"
                    f" instead of {MANIFEST_NAME} and {DUMP_NAME}); nothing was restored"
                )
            if members[0].size > _MANIFEST_MAX_BYTES:
                raise _damaged(path, "its manifest is too large")
            manifest_file = archive.extractfile(members[0])
            assert manifest_file is not None
            manifest = unseal(manifest_file.read(), path=path)
            dump = folder / DUMP_NAME
            digest = hashlib.sha256()
            source = archive.extractfile(members[1])
            assert source is not None
            with dump.open("wb") as out:
                while chunk := source.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _damaged(path, f"it is truncated or unreadable ({error})") from None
    _check_end_of_archive(path, members[1])
    size = dump.stat().st_size
    if size != manifest["dump"]["bytes"] or digest.hexdigest() != manifest["dump"]["sha256"]:
        raise _damaged(path, "the pg_dump archive inside does not match the manifest's sha256")
    return manifest, dump


def _check_end_of_archive(path: Path, last: tarfile.TarInfo) -> None:
    """A tar ends with two zero blocks after its last member: a file cut there is truncated."""
    end = last.offset_data + -(-last.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    with path.open("rb") as source:
        source.seek(end)
        marker = source.read(2 * tarfile.BLOCKSIZE)
    if marker != bytes(2 * tarfile.BLOCKSIZE):
        raise _damaged(path, "it is truncated or unreadable (its end-of-archive mark is missing)")


def project_migrations() -> dict[str, set[str]]:
    """The migration ids of every app of this project, from its migration folders."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    finder = BaseMigrationManager()
    result: dict[str, set[str]] = {}
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name=app_name)
        result[app_name] = set(
            finder.get_migration_modules(app_config.resolved_migrations_folder_path)
        )
    return result


def verify_migrations(manifest: dict[str, Any], *, path: Path) -> None:
    """Raise ArchiveError when the backup holds migrations this project does not have."""
    known = project_migrations()
    unknown = sorted(
        f"{app}:{migration_id}"
        for app, ids in manifest["migrations"].items()
        for migration_id in ids
        if migration_id not in known.get(app, set())
    )
    if unknown:
        shown = ", ".join(unknown[:3]) + (
            f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        )
        raise ArchiveError(
            f"{path} was made by another version of this project: its schema has migrations "
            f"this code does not know ({shown}); restore it with the code that made it; "
            "nothing was restored"
        )
    if not manifest["migrations"]:
        raise ArchiveError(
            f"{path} records no applied migration: it is not a backup of this project's "
            "database; nothing was restored"
        )


def verify_against_listing(manifest: dict[str, Any], listing: str, *, path: Path) -> None:
    """Raise ArchiveError unless the dump's tables are exactly the manifest's, with data."""
    defined, with_data = archive_tables(listing)
    expected = set(manifest["tables"])
    if defined != expected or not expected <= with_data | _empty(manifest):
        raise _damaged(path, "the tables of the pg_dump archive differ from the manifest's")


def _empty(manifest: dict[str, Any]) -> set[str]:
    return {name for name, entry in manifest["tables"].items() if entry["rows"] == 0}


def verification_sql(manifest: dict[str, Any]) -> str:
    """SQL that raises unless every table of ``public`` has the manifest's rows and md5.

    Run in the restore's own transaction, after the replay and before the commit: a
    mismatch aborts the transaction, so the old database stays in place.
    """
    expected = json.dumps(manifest["tables"], sort_keys=True).replace("'", "''")
    template = _CHECKSUM_TEMPLATE.format(table="%I").replace("'", "''")
    settings = ";\n".join(CHECKSUM_SETTINGS)
    return f"""{settings};
DO $gatewaydb_verify$
DECLARE
    expected jsonb := '{expected}'::jsonb;
    name text;
    n bigint;
    digest text;
BEGIN
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        IF NOT expected ? name THEN
            RAISE EXCEPTION 'verification failed: table % is not in the manifest', name;
        END IF;
    END LOOP;
    FOR name IN SELECT jsonb_object_keys(expected) LOOP
        IF to_regclass(format('public.%I', name)) IS NULL THEN
            RAISE EXCEPTION 'verification failed: table % of the manifest was not restored',
                name;
        END IF;
        EXECUTE format('{template}', name) INTO n, digest;
        IF n <> (expected -> name ->> 'rows')::bigint THEN
            RAISE EXCEPTION 'verification failed: table % has % rows, the manifest says %',
                name, n, expected -> name ->> 'rows';
        END IF;
        IF digest <> expected -> name ->> 'md5' THEN
            RAISE EXCEPTION 'verification failed: the rows of table % differ from the manifest',
                name;
        END IF;
    END LOOP;
END
$gatewaydb_verify$;
"""
