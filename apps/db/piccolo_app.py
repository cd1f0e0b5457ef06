"""``piccolo db <verb>``: the database lifecycle commands. No tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, Command

from apps.db.commands.backup import backup
from apps.db.commands.deploy import deploy
from apps.db.commands.doctor import doctor
from apps.db.commands.drift import drift
from apps.db.commands.import_prisma import import_prisma
from apps.db.commands.partitions import partitions
from apps.db.commands.reset import reset
from apps.db.commands.restore import restore
from apps.db.commands.roles import roles
from apps.db.commands.seed import seed
from apps.db.commands.sql import sql
from apps.db.commands.stats import stats
from apps.db.commands.studio import studio
from apps.db.forwards_lock import install_forwards_lock

# `piccolo migrations forwards` serialises with `piccolo db deploy` (one lock for both).
install_forwards_lock()

APP_CONFIG = AppConfig(
    app_name="db",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=[],
    commands=[
        deploy,
        seed,
        reset,
        backup,
        restore,
        roles,
        drift,
        doctor,
        studio,
        sql,
        stats,
        Command(import_prisma, command_name="import-prisma"),
        partitions,
    ],
)
