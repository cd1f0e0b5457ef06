"""One shape for every domain app (CONTRIBUTING.md, "Layout"), checked rather than hoped for."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import apps
from apps.core import rawsql
from apps.core.errors import GatewayError
from apps.core.records import Row
from piccolo_conf import APP_REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_APPS = ("users", "media", "ads", "knowledge")
# module or package: each domain app has exactly these, plus the named domain modules below
REQUIRED = {
    "__init__.py",
    "piccolo_app.py",
    "tables.py",
    "errors.py",
    "records.py",
    "selectors",
    "services",
    "admin.py",
    "seed.py",
    "piccolo_migrations",
}
# a distinct concern of one domain, under a name that says it
NAMED_DOMAIN_MODULES = {"stats.py", "embedders", "commands"}


def _entries(app: str) -> set[str]:
    folder = ROOT / "apps" / app
    names = set()
    for path in folder.iterdir():
        if path.name == "__pycache__":
            continue
        # selectors.py and selectors/ are the same entry
        names.add(path.stem if path.stem in {"selectors", "services"} else path.name)
    return names


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_domain_app_has_the_same_file_set(app: str) -> None:
    entries = _entries(app)
    assert not REQUIRED - entries, f"apps/{app} lacks {sorted(REQUIRED - entries)}"
    extra = entries - REQUIRED - NAMED_DOMAIN_MODULES
    assert not extra, f"apps/{app} has modules outside the one shape: {sorted(extra)}"


def _modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(apps.__path__, prefix="apps."):
        if ".piccolo_migrations" not in module.name:
            importlib.import_module(module.name)
            names.append(module.name)
    return names


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_row_types_are_the_one_row_type(app: str) -> None:
    # every class named *Record anywhere in the app is a Row, and it lives in records.py
    _modules()
    for name in [n for n in _modules() if n.startswith(f"apps.{app}.")]:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if inspect.isclass(value) and attribute.endswith("Record"):
                assert issubclass(value, Row), f"{name}.{attribute} is not an apps.core.records.Row"
                assert value.__module__ == f"apps.{app}.records", (
                    f"{value.__module__}.{attribute} belongs in apps/{app}/records.py"
                )


def test_one_unset_marker_and_one_sql_runner() -> None:
    offenders = []
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if "piccolo_migrations" in path.parts or path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and "unset" in node.name.lower():
                offenders.append(f"{path.relative_to(ROOT)}: class {node.name}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "raw"
                and isinstance(node.value, ast.Name)
                and node.value.id[:1].isupper()
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.raw")
    assert not offenders, "a second way of doing one thing:\n" + "\n".join(offenders)


def test_every_error_class_has_its_own_stable_code() -> None:
    _modules()
    seen: dict[str, str] = {}
    missing = []
    for cls in _subclasses(GatewayError):
        if not cls.__module__.startswith("apps."):
            continue
        if "code" not in vars(cls):
            missing.append(f"{cls.__module__}.{cls.__name__}")
            continue
        where = f"{cls.__module__}.{cls.__name__}"
        assert cls.code not in seen, f"{where} and {seen[cls.code]} share the code {cls.code}"
        seen[cls.code] = where
    assert not missing, "error classes without their own code: " + ", ".join(sorted(missing))


def _subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found: list[type[GatewayError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _owner_of_tables() -> dict[str, str]:
    owners = {}
    for config in APP_REGISTRY.app_configs.values():
        for table in config.table_classes:
            owners[table._meta.tablename] = config.app_name
    return owners


# The live conditions and row labels another app exports for the SQL of apps that hang rows
# off its tables; their text names the owner's tables on purpose.
def _exported_fragments() -> list[re.Pattern[str]]:
    from apps.ads.selectors import campaign_is_live, campaign_label
    from apps.media.selectors import LIVE_CLIP_ASSETS, asset_is_live, asset_label
    from apps.users.selectors import user_is_live, user_label

    # the largest first: asset_is_live and LIVE_CLIP_ASSETS hold user_is_live
    fragments = [
        LIVE_CLIP_ASSETS,
        asset_is_live("\0"),
        campaign_is_live("\0"),
        user_is_live("\0"),
        asset_label("\0"),
        campaign_label("\0"),
        user_label("\0"),
    ]
    return [
        re.compile(re.escape(text).replace("\\\0", ".+?").replace("\0", ".+?"))
        for text in fragments
    ]


def test_no_app_writes_sql_against_another_apps_tables() -> None:
    # given every hand-written statement with the module that made it
    _modules()
    owners = _owner_of_tables()
    fragments = _exported_fragments()
    foreign = []
    for sql, module in rawsql.STATEMENTS.items():
        app = module.split(".")[1] if module.startswith("apps.") else None
        if app not in DOMAIN_APPS:
            continue
        text = sql
        for fragment in fragments:
            text = fragment.sub("", text)
        # when the tables it reads or writes are listed
        for table in re.findall(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+\"?(\w+)", text, re.IGNORECASE):
            owner = owners.get(table)
            # then each belongs to the app that wrote the statement
            if owner is not None and owner != app:
                foreign.append(f"{module} reads {table} ({owner}'s): {sql.strip()[:120]}")
    assert not foreign, "\n".join(foreign)


# The one statement of the apps below whose text cannot be a constant: the admin's EXPLAIN of
# the query Piccolo Admin built from a request's filters.
_DYNAMIC_SQL = {("apps/adminsite/selectors.py", "query_row_estimate")}
_RUNS_SQL = {"fetch", "fetchrow", "fetchval", "execute", "executemany"}


def _sql_argument(call: ast.Call) -> ast.expr | None:
    """The SQL argument of a call that runs SQL: rawsql's second, a connection's first."""
    assert isinstance(call.func, ast.Attribute)
    on_rawsql = isinstance(call.func.value, ast.Name) and call.func.value.id == "rawsql"
    index = 1 if on_rawsql else 0
    return call.args[index] if len(call.args) > index else None


@pytest.mark.parametrize("app", [*DOMAIN_APPS, "audit", "adminsite"])
def test_every_statement_an_app_runs_is_recorded(app: str) -> None:
    # given every call of the app that runs SQL (rawsql's, or on a connection)
    unrecorded = []
    for path in sorted((ROOT / "apps" / app).rglob("*.py")):
        if "piccolo_migrations" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        module = importlib.import_module(
            relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        )
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in _RUNS_SQL
                ):
                    continue
                sql = _sql_argument(call)
                where = f"{relative}:{call.lineno} ({function.name})"
                # when its SQL is text written in place, or a module constant
                if isinstance(sql, ast.Constant | ast.JoinedStr | ast.BinOp):
                    if (relative, function.name) not in _DYNAMIC_SQL:
                        unrecorded.append(f"{where}: SQL written in the call")
                elif isinstance(sql, ast.Name):
                    # then the constant is a recorded statement
                    value = getattr(module, sql.id, None)
                    if isinstance(value, str) and value not in rawsql.STATEMENTS:
                        unrecorded.append(f"{where}: {sql.id} is not rawsql.statement(...)")
    assert not unrecorded, "\n".join(unrecorded)
