from __future__ import annotations

from pathlib import Path

from apps.db.cli import run_command
from apps.db.migration_sql import migrations_sql


def sql(output: str | None = None) -> None:
    """Print the SQL of every migration, raw steps included (what the migration lint reads).
    Needs a reachable database (Piccolo's preview opens a transaction) but changes nothing.

    :param output:
        A folder to write one <app>/<migration>.sql file per migration into, instead.
    """
    migrations = run_command(migrations_sql())
    if output is None:
        for migration in migrations:
            print(f"-- {migration.app_name}: {migration.migration_id}")
            print(migration.sql)
        return
    for migration in migrations:
        target = Path(output) / migration.app_name / f"{migration.module_name}.sql"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(migration.sql)
    print(f"wrote {len(migrations)} migration(s) to {output}")
