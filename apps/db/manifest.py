"""What a restore checks an archive holds before it touches the database.

A readable pg_dump archive is not enough: a dump of another database, or one made with
``--exclude-table``, would replace this project's tables with something else, or drop some.
The archive's table of contents (``pg_restore --list``) must hold the definition and the
data of every table this project's apps define, and of the migration history.
"""

from __future__ import annotations

import re
from pathlib import Path

from apps.db.errors import ArchiveError

# "1234; 1259 16390 TABLE public users owner" / "...; 0 16390 TABLE DATA public users owner"
_ENTRY = re.compile(
    r"^\d+;\s+\d+\s+\d+\s+(?P<kind>TABLE DATA|TABLE)\s+(?P<schema>\S+)\s+(?P<name>\S+)"
)


def project_tables() -> set[str]:
    """The tables of every app in ``piccolo_conf`` and the migration history table."""
    from piccolo.conf.apps import Finder

    return {table._meta.tablename for table in Finder().get_table_classes()} | {"migration"}


def archive_tables(listing: str) -> tuple[set[str], set[str]]:
    """(tables defined, tables with data) in a ``pg_restore --list`` listing of ``public``."""
    defined: set[str] = set()
    with_data: set[str] = set()
    for line in listing.splitlines():
        match = _ENTRY.match(line.strip())
        if not match or match.group("schema") != "public":
            continue
        (with_data if match.group("kind") == "TABLE DATA" else defined).add(match.group("name"))
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
