"""Least privilege (issue 11): a migration role owns the schema, the application role only
reads and writes rows.

The module sets the two roles up on a fresh database of the test server with the real
``piccolo db roles``, deploys into it with the real ``piccolo db deploy`` connecting as the
migration role (``DATABASE_MIGRATION_URL``), then points the suite's engine at that database
as the application role (``DATABASE_URL``): every test below runs the services, the admin
and raw statements as the application role, in a transaction rolled back at the end.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from apps.core.dburl import parse_database_url
from apps.core.errors import PermissionDeniedError
from apps.core.rawsql import fetch, fetchval
from tests.admin.conftest import build_app, create_login, csrf, log_in
from tests.conftest import PROJECT_ROOT, admin_execute, database_url
from tests.db.helpers import MIGRATION_FILES, command_env, piccolo_db
from tests.db.helpers import fetch as fetch_url

pytestmark = pytest.mark.reliability

SUFFIX = uuid.uuid4().hex[:8]
APP_ROLE = f"lp_app_{SUFFIX}"
MIGRATION_ROLE = f"lp_migrate_{SUFFIX}"
APP_PASSWORD = f"app-secret-{uuid.uuid4().hex}"
MIGRATION_PASSWORD = f"migration-secret-{uuid.uuid4().hex}"


def role_url(url: str, role: str) -> str:
    """``url`` logging in as ``role`` (the test server trusts its unix socket)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role)}@{host}"))


@dataclass(frozen=True)
class Setup:
    """The database of this module and what its two commands printed."""

    superuser_url: str
    app_url: str
    migration_url: str
    roles_output: str
    deploy_output: str


async def _as_role(url: str, statement: str) -> None:
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module", autouse=True)
async def least_privilege(engine: object) -> AsyncIterator[Setup]:
    """Roles and a deploy on a fresh database; the suite's engine connects as the app role."""
    from piccolo_conf import DB

    name = f"least_privilege_{SUFFIX}"
    await admin_execute(f"CREATE DATABASE {name}")
    superuser_url = database_url(name)
    app_url = role_url(superuser_url, APP_ROLE)
    migration_url = role_url(superuser_url, MIGRATION_ROLE)
    roles = piccolo_db(
        "roles",
        f"--app-role={APP_ROLE}",
        f"--migration-role={MIGRATION_ROLE}",
        url=superuser_url,
        stdin=f"{APP_PASSWORD}\n{MIGRATION_PASSWORD}\n",
    )
    assert roles.returncode == 0, roles.stderr
    deploy = piccolo_db("deploy", url=app_url, DATABASE_MIGRATION_URL=migration_url)
    assert deploy.returncode == 0, deploy.stderr
    await DB.close_connection_pool()
    try:
        with DB.connecting_as(parse_database_url(app_url)):
            await DB.start_connection_pool()
            try:
                yield Setup(
                    superuser_url=superuser_url,
                    app_url=app_url,
                    migration_url=migration_url,
                    roles_output=roles.stdout + roles.stderr,
                    deploy_output=deploy.stdout + deploy.stderr,
                )
            finally:
                await DB.close_connection_pool()
    finally:
        await DB.start_connection_pool()
        await admin_execute(
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"DROP ROLE IF EXISTS {APP_ROLE}",
            f"DROP ROLE IF EXISTS {MIGRATION_ROLE}",
        )


async def test_the_deploy_ran_as_the_migration_role_which_owns_everything(
    least_privilege: Setup,
) -> None:
    # given the roles command and a deploy through DATABASE_MIGRATION_URL (module fixture)
    assert f"deployed: {MIGRATION_FILES} migration(s) applied" in least_privilege.deploy_output
    # then the application role is connected, and every table, sequence and function of
    # the schema belongs to the migration role
    assert await fetchval_as_app("SELECT current_user") == APP_ROLE
    owners = {
        row["owner"]
        for row in await fetch_as_app(
            "SELECT relowner::regrole::text AS owner FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S', 'i', 'v') "
            "UNION SELECT proowner::regrole::text FROM pg_proc p "
            "WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT FROM pg_depend "
            "d WHERE d.objid = p.oid AND d.deptype = 'e')"
        )
    }
    assert owners == {MIGRATION_ROLE}
    assert (
        await fetchval_as_app(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'"
        )
        == MIGRATION_ROLE
    )
    assert await fetchval_as_app("SELECT count(*) FROM migration") == MIGRATION_FILES


async def test_the_passwords_are_stored_as_scram_verifiers_and_never_printed(
    least_privilege: Setup,
) -> None:
    # given the passwords given to the roles command on stdin
    output = least_privilege.roles_output
    # then neither appears in what it printed, and the server holds only verifiers
    assert APP_PASSWORD not in output and MIGRATION_PASSWORD not in output
    assert f"password of {APP_ROLE} set" in output
    connection = await asyncpg.connect(parse_database_url(least_privilege.superuser_url).dsn)
    try:
        stored = await connection.fetch(
            "SELECT rolname, rolpassword, rolsuper, rolcreaterole, rolcreatedb "
            "FROM pg_authid WHERE rolname = ANY($1::text[]) ORDER BY rolname",
            [APP_ROLE, MIGRATION_ROLE],
        )
    finally:
        await connection.close()
    assert len(stored) == 2
    for row in stored:
        assert row["rolpassword"].startswith("SCRAM-SHA-256$4096:")
        assert APP_PASSWORD not in row["rolpassword"]
        assert not (row["rolsuper"] or row["rolcreaterole"] or row["rolcreatedb"])


async def test_the_print_option_shows_the_sql_without_any_password(
    least_privilege: Setup,
) -> None:
    # when the SQL is asked for
    printed = piccolo_db(
        "roles",
        f"--app-role={APP_ROLE}",
        f"--migration-role={MIGRATION_ROLE}",
        "--print",
        url=least_privilege.superuser_url,
        stdin=f"{APP_PASSWORD}\n{MIGRATION_PASSWORD}\n",
    )
    # then it is a psql script of one transaction with the default privileges, and no secret
    assert printed.returncode == 0, printed.stderr
    script = printed.stdout
    assert script.count("BEGIN;") == 1 and script.rstrip().count("COMMIT;") == 1
    assert (
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{MIGRATION_ROLE}" GRANT SELECT, INSERT, UPDATE, '
        f'DELETE ON TABLES TO "{APP_ROLE}";'
    ) in script
    assert f"\\password {APP_ROLE}" in script
    assert "PASSWORD" not in script.replace("\\password", "")
    assert APP_PASSWORD not in script + printed.stderr


@pytest.mark.parametrize(
    ("app_role", "migration_role", "field"),
    [
        ("", MIGRATION_ROLE, "app_role"),
        ('app"; DROP TABLE users; --', MIGRATION_ROLE, "app_role"),
        (APP_ROLE, "Migrate", "migration_role"),
        (APP_ROLE, "pg_monitor", "migration_role"),
        (APP_ROLE, APP_ROLE, "app_role"),
    ],
)
async def test_bad_role_names_are_refused_naming_the_option(
    least_privilege: Setup, app_role: str, migration_role: str, field: str
) -> None:
    # when the roles command gets a bad name
    refused = piccolo_db(
        "roles",
        f"--app-role={app_role}",
        f"--migration-role={migration_role}",
        url=least_privilege.superuser_url,
        stdin="",
    )
    # then it is one error line naming the option, and nothing ran
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert refused.stderr.split("error: ", 1)[1].startswith(f"{field}:"), refused.stderr


async def test_a_bad_role_name_is_a_validation_error_with_field_and_rule() -> None:
    from apps.core.errors import ValidationError
    from apps.db.roles import RolePlan

    for app_role, field, rule in (
        ("", "app_role", "required"),
        ("a b", "app_role", "identifier"),
        (MIGRATION_ROLE, "app_role", "distinct"),
    ):
        with pytest.raises(ValidationError) as refused:
            RolePlan(app_role=app_role, migration_role=MIGRATION_ROLE, database="db")
        assert (refused.value.field, refused.value.rule) == (field, rule)


async def test_the_services_work_as_the_application_role() -> None:
    from apps.ads import selectors as ads_selectors
    from apps.ads import services as ads
    from apps.ads.records import ConversionInput
    from apps.ads.services.conversions import COPY_THRESHOLD
    from apps.ads.tables import ConversionSource
    from apps.knowledge import selectors as knowledge_selectors
    from apps.knowledge import services as knowledge
    from apps.media import services as media
    from apps.users import services as users

    # given the application role, when a platform service creates a user and registers
    # an asset
    user = await users.user_create(email=f"lp-{SUFFIX}@example.com", name="Least Privilege")
    asset = await media.asset_register(
        user_id=user.id,
        filename="lp.mp4",
        original_name="Least privilege.mp4",
        mime_type="video/mp4",
        file_size=1_000_000,
        gcs_url="gs://gateway-assets/uploads/lp.mp4",
    )
    # and ingests a batch big enough to go through COPY and a temporary table
    campaign = await ads.campaign_create(user_id=user.id, name="LP", budget=Decimal("100.00"))
    batch = [
        ConversionInput(
            external_id=f"lp-{SUFFIX}-{n}", value=Decimal("1.50"), campaign_id=campaign.id
        )
        for n in range(COPY_THRESHOLD + 1)
    ]
    ingested = await ads.conversion_ingest_batch(source=ConversionSource.META, conversions=batch)
    # and a small batch (one INSERT from arrays)
    small = await ads.conversion_ingest_batch(
        source=ConversionSource.META,
        conversions=[ConversionInput(external_id=f"lp-{SUFFIX}-small", value=Decimal("2"))],
    )
    # and writes and searches a knowledge document
    document = await knowledge.document_create(
        name="ROAS for least privilege",
        content="Return on ad spend is revenue divided by spend.",
        category="metrics",
    )
    vector_hits = await knowledge_selectors.document_search_vector(query="return on ad spend", k=3)
    text_hits = await knowledge_selectors.document_search_text(query="revenue spend", k=3)
    # then every write is there, read back as the application role
    assert asset.user_id == user.id
    assert (ingested.inserted, small.inserted) == (COPY_THRESHOLD + 1, 1)
    stored = await ads_selectors.campaign_get(campaign_id=campaign.id)
    assert stored.total_conversions == COPY_THRESHOLD + 1
    assert [hit.document.id for hit in vector_hits][:1] == [document.id]
    assert [hit.document.id for hit in text_hits] == [document.id]


async def test_an_admin_edit_works_and_is_audited_as_the_application_role() -> None:
    from apps.audit.selectors import audit_entry_list_for_row
    from apps.users import services as users

    # given an admin login and a user, created as the application role
    user = await users.user_create(email=f"edit-{SUFFIX}@example.com", name="Before")
    login = await create_login(admin=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app()), base_url="http://testserver"
    ) as client:
        logged_in = await log_in(client, login.username)
        assert logged_in.status_code == 200, logged_in.text
        # when the admin edits the user and reads the audit log
        edited = await client.patch(
            f"/admin/api/tables/users/{user.id}/", json={"name": "After"}, headers=csrf(client)
        )
        listing = await client.get(f"/admin/api/tables/audit_entries/?row_id={user.id}")
    # then the edit is stored and audited, and the admin can read the entry
    assert edited.status_code == 200, edited.text
    entries = await audit_entry_list_for_row(table_name="users", row_id=user.id)
    assert [entry["action"] for entry in entries] == ["UPDATE"]
    assert entries[0]["changes"] == {"name": {"old": "Before", "new": "After"}}
    assert listing.status_code == 200, listing.text
    assert [row["table_name"] for row in listing.json()["rows"]] == ["users"]


REFUSED = [
    pytest.param("CREATE TABLE intruder (id integer)", "public", "privilege", id="create-table"),
    pytest.param("DROP TABLE users", "users", "owner", id="drop-table"),
    pytest.param("TRUNCATE conversions", "conversions", "privilege", id="truncate"),
    pytest.param("ALTER TABLE users ADD COLUMN intruder integer", "users", "owner", id="alter"),
    pytest.param("CREATE INDEX intruder ON users (name)", "users", "owner", id="create-index"),
    pytest.param(
        "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "public",
        "privilege",
        id="create-function",
    ),
    pytest.param("CREATE SCHEMA intruder", None, "privilege", id="create-schema"),
    pytest.param(
        "INSERT INTO migration (name, app_name, ran_on) VALUES ('x', 'users', now())",
        "migration",
        "privilege",
        id="history-insert",
    ),
    pytest.param("UPDATE migration SET name = name", "migration", "privilege", id="history-update"),
    pytest.param("DELETE FROM migration", "migration", "privilege", id="history-delete"),
    pytest.param("TRUNCATE migration", "migration", "privilege", id="history-truncate"),
    pytest.param(
        "SELECT setval('migration_id_seq', 1)", "migration_id_seq", "privilege", id="history-seq"
    ),
    pytest.param(
        "UPDATE audit_entries SET actor_username = 'x'",
        "audit_entries",
        "privilege",
        id="audit-update",
    ),
    pytest.param("DELETE FROM audit_entries", "audit_entries", "privilege", id="audit-delete"),
    pytest.param("TRUNCATE audit_entries", "audit_entries", "privilege", id="audit-truncate"),
]


@pytest.mark.parametrize(("statement", "field", "rule"), REFUSED)
async def test_the_application_role_is_refused(
    statement: str, field: str | None, rule: str
) -> None:
    from piccolo_conf import DB

    # when the application role tries a schema change, or to rewrite history or the audit
    with pytest.raises(PermissionDeniedError) as refused:
        await fetch(DB, statement)
    # then it is a typed error naming the object and the missing privilege
    assert refused.value.code == "permission_denied"
    assert (refused.value.field, refused.value.rule) == (field or refused.value.field, rule)
    assert refused.value.field is not None


async def test_audit_entries_and_history_can_be_read_and_audit_entries_added() -> None:
    from apps.audit.services import Actor, audit_entry_record
    from apps.audit.tables import AuditAction

    # when the application role adds an audit entry and reads both protected tables
    entry = await audit_entry_record(
        actor=Actor(id=None, username="lp"),
        action=AuditAction.FORM,
        table_name="users",
        row_id=SUFFIX,
    )
    # then it may
    assert await fetchval_as_app("SELECT count(*) FROM audit_entries WHERE id = $1", entry.id)
    assert await fetchval_as_app("SELECT count(*) FROM migration") == MIGRATION_FILES


async def test_a_table_of_a_later_migration_is_usable_through_default_privileges(
    least_privilege: Setup,
) -> None:
    from piccolo_conf import DB

    # given a table a later migration creates (the migration role, committed)
    table = f"later_{SUFFIX}"
    await _as_role(
        least_privilege.migration_url,
        f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)",
    )
    # when the application role writes, updates, reads and deletes its rows
    await fetch(DB, f"INSERT INTO {table} (note) VALUES ('one'), ('two')")
    await fetch(DB, f"UPDATE {table} SET note = 'three' WHERE note = 'two'")
    await fetch(DB, f"DELETE FROM {table} WHERE note = 'one'")
    # then it may, with no GRANT run after the table was created
    assert [row["note"] for row in await fetch(DB, f"SELECT note FROM {table}")] == ["three"]
    # but it still cannot drop or truncate it
    with pytest.raises(PermissionDeniedError):
        await fetch(DB, f"TRUNCATE {table}")


async def fetchval_as_app(sql: str, *args: object) -> object:
    from piccolo_conf import DB

    return await fetchval(DB, sql, *args)


async def fetch_as_app(sql: str, *args: object) -> list[asyncpg.Record]:
    from piccolo_conf import DB

    return await fetch(DB, sql, *args)


async def test_reset_and_restore_as_the_migration_role_keep_least_privilege(
    scratch_database: str, tmp_path: Path
) -> None:
    # given the roles and a seeded deploy on another database
    app_url = role_url(scratch_database, APP_ROLE)
    migration_url = role_url(scratch_database, MIGRATION_ROLE)
    as_roles = {"url": app_url, "DATABASE_MIGRATION_URL": migration_url}
    roles = piccolo_db(
        "roles",
        f"--app-role={APP_ROLE}",
        f"--migration-role={MIGRATION_ROLE}",
        url=scratch_database,
    )
    assert roles.returncode == 0, roles.stderr
    reset = piccolo_db("reset", "--yes", **as_roles)
    assert reset.returncode == 0, reset.stderr
    archive = tmp_path / "seeded.dump"
    backup = piccolo_db("backup", str(archive), url=app_url)
    assert backup.returncode == 0, backup.stderr
    # when the migration role (no superuser: it cannot create pgvector) resets again, then
    # restores the archive
    again = piccolo_db("reset", "--yes", "--no-seed", **as_roles)
    restored = piccolo_db("restore", str(archive), "--yes", **as_roles)
    # then both succeed, the rows are back, the migration role still owns everything and
    # the application role has exactly its rights again
    assert again.returncode == 0, again.stderr
    assert restored.returncode == 0, restored.stderr
    acl = {
        row["relname"]: (row["owner"], row["app"])
        for row in await fetch_url(
            scratch_database,
            "SELECT relname, relowner::regrole::text AS owner, "
            "array_to_string(ARRAY(SELECT privilege_type FROM aclexplode(relacl) a "
            "WHERE a.grantee = $1::regrole ORDER BY 1), ',') AS app "
            "FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
            APP_ROLE,
        )
    }
    assert acl["migration"] == (MIGRATION_ROLE, "SELECT")
    assert acl["audit_entries"] == (MIGRATION_ROLE, "INSERT,SELECT")
    assert acl["users"] == (MIGRATION_ROLE, "DELETE,INSERT,SELECT,UPDATE")
    assert {owner for owner, _ in acl.values()} == {MIGRATION_ROLE}
    (users,) = await fetch_url(scratch_database, "SELECT count(*) AS n FROM users")
    assert users["n"] == 3  # the sample users of the seed
    (extension,) = await fetch_url(
        scratch_database, "SELECT count(*) AS n FROM pg_extension WHERE extname = 'vector'"
    )
    assert extension["n"] == 1


def test_the_migration_url_defaults_to_database_url_and_needs_it() -> None:
    from pydantic import ValidationError as SettingsError

    from apps.core.settings import Settings
    from apps.db.connection import migration_url

    # given only DATABASE_URL, then there is no second role: the schema changes use it
    single = Settings(database_url="postgresql://app@db/gateway")
    assert migration_url(single) is None
    # given both, then the schema changes log in as the migration role, with the connect
    # timeout of the settings
    both = Settings(
        database_url="postgresql://app@db/gateway",
        database_migration_url="postgresql://migrate@db/gateway",
        connect_timeout=7,
    )
    url = migration_url(both)
    assert url is not None and (url.user, url.connect_timeout) == ("migrate", 7)
    # given only the migration URL (the embedded server has a single role), then refused
    with pytest.raises(SettingsError, match="DATABASE_MIGRATION_URL needs DATABASE_URL"):
        Settings(database_url=None, database_migration_url="postgresql://migrate@db/gateway")


def test_a_bad_migration_url_is_named_as_such() -> None:
    from apps.core.errors import ConfigurationError
    from apps.core.settings import Settings
    from apps.db.connection import migration_url

    # when DATABASE_MIGRATION_URL is not a PostgreSQL URL, or has a bad parameter
    for url, field in (
        ("mysql://migrate@db/gateway", "DATABASE_MIGRATION_URL"),
        ("postgresql://migrate@db/gateway?connect_timeout=soon", "connect_timeout"),
    ):
        settings = Settings(database_url="postgresql://app@db/gateway", database_migration_url=url)
        with pytest.raises(ConfigurationError) as refused:
            migration_url(settings)
        # then the error names the setting (or the parameter), never DATABASE_URL
        assert refused.value.field == field
        assert "DATABASE_URL" not in refused.value.message.replace("DATABASE_MIGRATION_URL", "")


@pytest.mark.parametrize(
    "password",
    [
        f"clear-{SUFFIX}",
        f"accent-{SUFFIX}-\u00e9",  # NFKC leaves it
        f"nbsp-{SUFFIX}-a\u00a0b",  # SASLprep maps a non-ASCII space to a space
        f"ligature-{SUFFIX}-\ufb01\u200b",  # NFKC splits the ligature, drops zero width
        f"prohibited-{SUFFIX}-\u0007",  # a control character: used as it is
    ],
)
async def test_the_scram_verifier_is_the_one_postgresql_computes(
    least_privilege: Setup, password: str
) -> None:
    from apps.db.roles import scram_sha_256

    # given a verifier the server computes itself from a clear password
    role = f"lp_scram_{SUFFIX}"
    connection = await asyncpg.connect(parse_database_url(least_privilege.superuser_url).dsn)
    try:
        await connection.execute("SET password_encryption = 'scram-sha-256'")
        await connection.execute(f"CREATE ROLE {role} PASSWORD {quote_literal(password)}")
        stored = await connection.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role
        )
    finally:
        await connection.execute(f"DROP ROLE {role}")
        await connection.close()
    # when the command computes one with the same salt, then both are the same
    salt = base64.b64decode(stored.split("$")[1].split(":")[1])
    assert scram_sha_256(password, salt=salt) == stored


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def migrations_forwards(app_url: str, migration_url: str) -> subprocess.CompletedProcess[str]:
    """Piccolo's own ``migrations forwards all`` with the two URLs."""
    return subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=command_env(app_url, DATABASE_MIGRATION_URL=migration_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_migrations_forwards_runs_as_the_migration_role_too(scratch_database: str) -> None:
    # given the roles on an empty database
    app_url = role_url(scratch_database, APP_ROLE)
    roles = piccolo_db(
        "roles",
        f"--app-role={APP_ROLE}",
        f"--migration-role={MIGRATION_ROLE}",
        url=scratch_database,
    )
    assert roles.returncode == 0, roles.stderr
    # when Piccolo's own forwards runs with the two URLs
    forwards = migrations_forwards(app_url, role_url(scratch_database, MIGRATION_ROLE))
    # then the migration role owns what it built, and the history is read-only to the app
    assert forwards.returncode == 0, forwards.stderr
    rows = await fetch_url(
        scratch_database,
        "SELECT relname, relowner::regrole::text AS owner, "
        "array_to_string(ARRAY(SELECT privilege_type FROM aclexplode(relacl) a "
        "WHERE a.grantee = $1::regrole ORDER BY 1), ',') AS app "
        "FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relname IN ('migration', 'audit_entries', 'campaigns') ORDER BY relname",
        APP_ROLE,
    )
    assert [tuple(row) for row in rows] == [
        ("audit_entries", MIGRATION_ROLE, "INSERT,SELECT"),
        ("campaigns", MIGRATION_ROLE, "DELETE,INSERT,SELECT,UPDATE"),
        ("migration", MIGRATION_ROLE, "SELECT"),
    ]
    (applied,) = await fetch_url(scratch_database, "SELECT count(*) AS n FROM migration")
    assert applied["n"] == MIGRATION_FILES


async def test_an_option_without_its_value_is_one_error_line(least_privilege: Setup) -> None:
    # when the role is given after a space (targ reads `--app-role` as a bare flag)
    refused = piccolo_db(
        "roles",
        "--app-role",
        APP_ROLE,
        f"--migration-role={MIGRATION_ROLE}",
        url=least_privilege.superuser_url,
    )
    # then one line says how to give it
    assert refused.returncode == 1
    assert refused.stderr == "error: --app-role needs a value: --app-role=NAME\n"
