"""``piccolo db roles``: least privilege, a migration role and an application role.

- The **migration role** owns the ``public`` schema and everything in it; deploys,
  ``migrations forwards``, reset and restore connect as it (``DATABASE_MIGRATION_URL``).
- The **application role** (``DATABASE_URL``) reads and writes rows and nothing more: it
  owns nothing, so it cannot ``ALTER`` or ``DROP``; it has no ``CREATE`` on the schema and
  no ``TRUNCATE``; on the migration history (Piccolo's ``migration`` table) it may only
  read, and on ``audit_entries`` only read and insert.

Default privileges (``ALTER DEFAULT PRIVILEGES FOR ROLE <migration role>``, for the whole
database, so that they outlive a reset which drops and re-creates the schema) grant the
application role its rights on every table a later migration creates. Default privileges
cannot single tables out, so the narrower rights of the protected tables are applied by
:data:`PROTECTED_TABLES_SQL`, which every deploy, ``forwards`` and restore runs after it
changed the schema. It names no role: it takes from every role but the owner what the
protected tables allow nobody to do.

The statements are built here from validated names; passwords travel only as SCRAM-SHA-256
verifiers (what ``psql``'s ``\\password`` sends), never in clear and never printed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import stringprep
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.db.errors import RoleSetupError

# A role name this command accepts: a plain lower-case SQL identifier (no quoting games).
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCRAM_ITERATIONS = 4096

# Table -> the privileges a role other than its owner may keep on it.
PROTECTED_TABLES: dict[str, tuple[str, ...]] = {
    "migration": ("SELECT",),
    "audit_entries": ("SELECT", "INSERT"),
}
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"


def _protected_values() -> str:
    rows = []
    for table, kept in PROTECTED_TABLES.items():
        privileges = ", ".join(f"'{privilege}'" for privilege in kept)
        rows.append(f"('{table}', ARRAY[{privileges}])")
    return ", ".join(rows)


# Revoke, from every role but the owner, what a protected table (or the sequence of its id)
# does not allow; a database set up without roles has no such grant and nothing happens.
PROTECTED_TABLES_SQL = f"""
DO $protect$
DECLARE item record;
BEGIN
    FOR item IN
        WITH protected(name, kept) AS (VALUES {_protected_values()}),
        tables AS (
            SELECT c.oid, c.relkind, c.relowner, c.relacl, p.kept
            FROM protected p
            JOIN pg_class c ON c.relname = p.name
                AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        ),
        objects AS (
            SELECT oid, relkind, relowner, relacl, kept FROM tables
            UNION ALL
            SELECT s.oid, s.relkind, s.relowner, s.relacl, ARRAY['SELECT']
            FROM tables t
            JOIN pg_depend d ON d.refobjid = t.oid AND d.refclassid = 'pg_class'::regclass
                AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        )
        SELECT format(
            'REVOKE %s ON %s %s FROM %s',
            a.privilege_type,
            CASE o.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
            o.oid::regclass,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
        ) AS statement
        FROM objects o CROSS JOIN LATERAL aclexplode(o.relacl) a
        WHERE a.grantee <> o.relowner AND NOT a.privilege_type = ANY (o.kept)
    LOOP
        EXECUTE item.statement;
    END LOOP;
END
$protect$
""".strip()


#: The objects of schema ``public`` a role can own or drop, one kind at a time (relations,
#: then routines, then types): (the kind's SQL keyword, the object, where it is listed, its
#: owner column). An extension's members stay the extension's; a column's sequence and an
#: index follow their table.
_PUBLIC_OBJECTS = (
    (
        "CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' "
        "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END",
        "c.oid::regclass",
        "pg_class c WHERE c.relnamespace = 'public'::regnamespace "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        # (a partitioned table depends internally on itself: its partition key)
        "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i') AND d.refobjid <> c.oid)",
        "c.relowner",
    ),
    (
        "'ROUTINE'",
        "p.oid::regprocedure",
        "pg_proc p WHERE p.pronamespace = 'public'::regnamespace "
        "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
        "AND d.objid = p.oid AND d.deptype = 'e')",
        "p.proowner",
    ),
    (
        "'TYPE'",
        "t.oid::regtype",
        "pg_type t WHERE t.typnamespace = 'public'::regnamespace "
        "AND t.typtype IN ('e', 'd', 'r', 'm') "
        "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass "
        "AND d.objid = t.oid AND d.deptype = 'e')",
        "t.typowner",
    ),
)


def each_public_object(template: str, *, label: str, owned_not_by: str | None = None) -> str:
    """A ``DO`` block running ``template`` (a ``format()`` template over the kind and the
    object: ``'DROP %s IF EXISTS %s CASCADE'``) on every object of schema ``public``, kind
    by kind; with ``owned_not_by``, only on the objects that role does not own."""
    loops = []
    for kind, name, source, owner in _PUBLIC_OBJECTS:
        mine = f" AND {owner} <> '{owned_not_by}'::regrole" if owned_not_by else ""
        loops.append(
            f"    FOR item IN SELECT format('{template}', {kind}, {name}) AS statement\n"
            f"        FROM {source}{mine}\n"
            "    LOOP\n        EXECUTE item.statement;\n    END LOOP;"
        )
    body = "\n".join(loops)
    return f"DO ${label}$\nDECLARE item record;\nBEGIN\n{body}\nEND\n${label}$"


def _ownership_sql(migration_role: str) -> str:
    """Give the migration role what a deploy made before the roles existed left elsewhere."""
    owner = quote_identifier(migration_role)
    return each_public_object(
        f"ALTER %s %s OWNER TO {owner}", label="own", owned_not_by=migration_role
    )


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def role_name(value: object, *, field: str) -> str:
    """``value`` when it is a role name this command accepts; a ValidationError otherwise."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field}: a role name is required", field=field, rule="required")
    if not ROLE_NAME.fullmatch(value) or value.startswith("pg_"):
        raise ValidationError(
            f"{field}: {value!r} is not a plain role name (lower-case letters, digits and _, "
            "at most 63, not starting with a digit or pg_)",
            field=field,
            rule="identifier",
        )
    return value


def saslprep(password: str) -> str:
    """``password`` as PostgreSQL prepares it for SCRAM (RFC 4013 SASLprep): non-ASCII spaces
    mapped to a space, invisible characters dropped, NFKC; a password with a prohibited
    character (or breaking the bidi rules) is used as it is, as the server does."""
    if password.isascii():
        return password
    # A non-ASCII space (U+200B is one) becomes a space before anything is dropped.
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in password
        if stringprep.in_table_c12(char) or not stringprep.in_table_b1(char)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    if any(check(char) for char in prepared for check in prohibited):
        return password
    if any(stringprep.in_table_d1(char) for char in prepared) and (
        any(stringprep.in_table_d2(char) for char in prepared)
        or not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1]))
    ):
        return password
    return prepared


def scram_sha_256(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802, 7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    secret = saslprep(password).encode("utf-8")
    salted = hashlib.pbkdf2_hmac("sha256", secret, salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


@dataclass(frozen=True)
class RolePlan:
    """The two roles to set up in ``database``."""

    app_role: str
    migration_role: str
    database: str

    def __post_init__(self) -> None:
        role_name(self.app_role, field="app_role")
        role_name(self.migration_role, field="migration_role")
        if self.app_role == self.migration_role:
            raise ValidationError(
                "app_role: must differ from migration_role (one role would own the schema "
                "it writes to)",
                field="app_role",
                rule="distinct",
            )


def roles_setup_sql(plan: RolePlan) -> list[str]:
    """The statements that set the roles up, without passwords; safe to run again."""
    app = quote_identifier(plan.app_role)
    migration = quote_identifier(plan.migration_role)
    database = quote_identifier(plan.database)
    statements = []
    for name in (plan.migration_role, plan.app_role):
        # NOSUPERUSER ... are CREATE ROLE's defaults; an existing role keeps its attributes
        # (the command refuses a superuser or a member of the migration role afterwards).
        statements.append(
            "DO $role$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
            f"CREATE ROLE {quote_identifier(name)} LOGIN; END IF; END $role$"
        )
    # An admin login that is not a superuser (a managed server's) must be a member of the
    # migration role to hand it the schema and to set its default privileges; on
    # PostgreSQL 16+ creating a role does not make its creator one.
    statements.append(
        "DO $member$ BEGIN "
        "IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
        f"AND NOT pg_has_role(current_user, '{plan.migration_role}', 'USAGE') THEN "
        f"EXECUTE format('GRANT %I TO %I', '{plan.migration_role}', current_user); "
        "END IF; END $member$"
    )
    statements += [
        f"ALTER ROLE {migration} LOGIN",
        f"ALTER ROLE {app} LOGIN",
        f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {migration}",
        # TEMPORARY: conversion ingestion COPYs big batches through a temporary table.
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {app}",
        # pgvector is not a trusted extension: only a superuser (a managed server's admin)
        # can create it, so it is created here, and the migration finds it.
        "CREATE EXTENSION IF NOT EXISTS vector",
        f"ALTER SCHEMA public OWNER TO {migration}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        _ownership_sql(plan.migration_role),
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {migration} GRANT {TABLE_PRIVILEGES} "
        f"ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {migration} GRANT {SEQUENCE_PRIVILEGES} "
        f"ON SEQUENCES TO {app}",
        f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA public TO {app}",
        PROTECTED_TABLES_SQL,
    ]
    return statements


def roles_script(plan: RolePlan) -> str:
    """The setup as a psql script (``--print``): one transaction, no password in it."""
    lines = [
        f"-- gatewaydb roles for database {plan.database}: run as a superuser (or a managed",
        "-- server's admin login) connected to that database, e.g. psql -f roles.sql",
        "BEGIN;",
    ]
    lines += [f"{statement};" for statement in roles_setup_sql(plan)]
    lines += [
        "COMMIT;",
        "-- Passwords are not part of this script. Set them in psql, which sends only a",
        f"-- hash: \\password {plan.migration_role}   and   \\password {plan.app_role}",
    ]
    return "\n".join(lines) + "\n"


_ROLE_ATTRIBUTES = rawsql.statement(
    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
    "FROM pg_roles WHERE rolname = $1",
    owner=__name__,
)
_ROLE_IS_MEMBER = rawsql.statement("SELECT pg_has_role($1, $2, 'USAGE')", owner=__name__)
_ROLE_OWNED_RELATIONS = rawsql.statement(
    "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
    "AND pg_has_role($1, relowner, 'USAGE')",
    owner=__name__,
)
_ROLE_IS_SUPERUSER = rawsql.statement(
    "SELECT rolsuper FROM pg_roles WHERE rolname = $1", owner=__name__
)


async def roles_problems(connection: asyncpg.Connection, plan: RolePlan) -> list[str]:
    """What would let the application role do more than read and write rows."""
    problems = []
    app = await connection.fetchrow(_ROLE_ATTRIBUTES, plan.app_role)
    if app is None:
        return [f"role {plan.app_role} does not exist"]
    for attribute, name in (
        ("rolsuper", "SUPERUSER"),
        ("rolcreaterole", "CREATEROLE"),
        ("rolcreatedb", "CREATEDB"),
        ("rolbypassrls", "BYPASSRLS"),
        ("rolreplication", "REPLICATION"),
    ):
        if app[attribute]:
            problems.append(f"role {plan.app_role} has {name}: ALTER ROLE ... NO{name}")
    if await connection.fetchval(_ROLE_IS_MEMBER, plan.app_role, plan.migration_role):
        problems.append(
            f"role {plan.app_role} is a member of {plan.migration_role} and so owns the schema"
        )
    owned = await connection.fetchval(_ROLE_OWNED_RELATIONS, plan.app_role)
    if owned:
        problems.append(f"role {plan.app_role} owns {owned} object(s) of schema public")
    if await connection.fetchval(_ROLE_IS_SUPERUSER, plan.migration_role):
        problems.append(f"role {plan.migration_role} is a superuser: ALTER ROLE ... NOSUPERUSER")
    return problems


async def roles_setup(
    connection: asyncpg.Connection,
    plan: RolePlan,
    *,
    app_password: str | None,
    migration_password: str | None,
    progress: Callable[[str], None] = lambda line: None,
) -> None:
    """Set the roles up on ``connection``'s database in one transaction; a password that is
    None is left as it is. Raises RoleSetupError (and changes nothing) when the result
    would not be least privilege."""
    async with connection.transaction():
        for statement in roles_setup_sql(plan):
            await connection.execute(statement)
        for name, password in (
            (plan.migration_role, migration_password),
            (plan.app_role, app_password),
        ):
            if password:
                verifier = scram_sha_256(password)
                await connection.execute(
                    f"ALTER ROLE {quote_identifier(name)} PASSWORD '{verifier}'"
                )
                progress(f"password of {name} set")
        problems = await roles_problems(connection, plan)
        if problems:
            raise RoleSetupError("; ".join(problems) + "; nothing was changed")
    progress(
        f"roles ready in database {plan.database}: {plan.migration_role} owns the schema, "
        f"{plan.app_role} reads and writes rows"
    )


async def protected_tables_restrict(connection: asyncpg.Connection) -> None:
    """Take from every role but the owner what the protected tables do not allow."""
    await connection.execute(PROTECTED_TABLES_SQL)


# A role that is not a superuser cannot create pgvector again once it is dropped, so a
# reset as the migration role clears the schema but keeps the extensions' objects.
KEEPS_EXTENSIONS_SQL = rawsql.statement(
    "SELECT NOT rolsuper FROM pg_roles WHERE rolname = current_user", owner=__name__
)
SCHEMA_CLEAR_SQL = each_public_object("DROP %s IF EXISTS %s CASCADE", label="clear")
