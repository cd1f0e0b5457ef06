"""Errors of the ``piccolo db`` commands; each one is printed as one line by the CLI."""

from __future__ import annotations

from apps.core.errors import GatewayError


class CommandRefusedError(GatewayError):
    """The command would destroy data and was not confirmed (or runs in production)."""

    code = "refused"


class DeployLockTimeoutError(GatewayError):
    """Another deploy held the migration lock longer than ``deploy_lock_timeout``."""

    code = "deploy_lock_timeout"


class MigrationFailedError(GatewayError):
    """A migration failed; it and its history row were rolled back together."""

    code = "migration_failed"


class ClientToolError(GatewayError):
    """No pg_dump / pg_restore / psql of the server's major version could be found."""

    code = "client_tool"


class ArchiveError(GatewayError):
    """A backup file is missing, damaged, truncated, foreign or partial, or does not match
    its manifest or this project's migrations; nothing was restored."""

    code = "archive"


class BackupPathError(GatewayError):
    """The backup's folder does not exist, or its file exists and ``--force`` was not given."""

    code = "backup_path"


class BackupFailedError(GatewayError):
    """pg_dump or the restore failed; the message carries the tool's own error."""

    code = "backup_failed"


class SchemaNotReadyError(GatewayError):
    """The tables a command needs do not exist yet: the database is not migrated."""

    code = "schema_not_ready"


class RoleSetupError(GatewayError):
    """The roles would not be least privilege (a superuser application role, say)."""

    code = "role_setup"


class RestoreVerificationError(GatewayError):
    """The restored tables differ from the backup's manifest; the restore was rolled back."""

    code = "restore_verification"


class RestorePrivilegeError(GatewayError):
    """The role may not replace the ``public`` schema (it needs to own it, and CREATE)."""

    code = "restore_privilege"


class PartitionError(GatewayError):
    """A partition command got a bad argument or met a table it cannot convert."""

    code = "partition"
