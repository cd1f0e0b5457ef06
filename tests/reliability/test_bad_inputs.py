"""Bad input at the boundary of every public service and selector.

Each case calls a real service or selector with one bad argument and checks three things: the
error is a ValidationError of this project (never a raw TypeError, ValueError, KeyError,
AttributeError or UnicodeEncodeError), it names the argument and the rule, and no row was
written. Most cases are generated from the signatures (one bad value per kind of argument);
the issue's own examples are listed by hand below them.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import math
import types
import typing
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import ValidationError
from apps.core.validation import (
    DEFAULT_TEXT_MAX_LENGTH,
    INT64_MAX,
    INVISIBLE_CHARACTERS,
    TEXT_MAX_LENGTHS,
)
from apps.users.seed import ADMIN_EMAIL
from tests.conftest import savepoint
from tests.helpers import fetchval

pytestmark = pytest.mark.reliability

# What README.md and docs/ call public: the services and selectors of the four domain apps.
PUBLIC_MODULES = (
    "apps.users.services",
    "apps.users.selectors",
    "apps.media.services.assets",
    "apps.media.services.clips",
    "apps.media.services.predictions",
    "apps.media.selectors.assets",
    "apps.media.selectors.clips",
    "apps.media.selectors.predictions",
    "apps.ads.services.campaigns",
    "apps.ads.services.conversions",
    "apps.ads.services.experiments",
    "apps.ads.services.metrics",
    "apps.ads.selectors",
    "apps.knowledge.services",
    "apps.knowledge.selectors",
)

TABLES = (
    "users",
    "api_keys",
    "assets",
    "clips",
    "predictions",
    "campaigns",
    "experiments",
    "conversions",
    "performance_metrics",
    "knowledge_documents",
    "knowledge_document_versions",
    "audit_entries",
)
COUNT_ROWS = "SELECT ARRAY[" + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES) + "]"


def public_functions() -> list[Callable[..., Any]]:
    """Every async ``<entity>_<action>`` function the public modules define."""
    found = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                not attribute.startswith("_")
                and inspect.iscoroutinefunction(value)
                and getattr(value, "__module__", None) == name
            ):
                found.append(value)
    return found


def _options(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


GOOD_TEXT = {"email": "person@example.com", "currency": "USD", "mime_type": "video/mp4"}


def good_value(hint: Any, field: str) -> Any:
    """A value of ``hint`` that passes the boundary (the body may still refuse it)."""
    if field in GOOD_TEXT:
        return GOOD_TEXT[field]
    options = _options(hint)
    if type(None) in options:
        return None
    hint = options[0]
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return typing.get_args(hint)[0]
    if hint is uuid.UUID:
        return uuid.uuid4()
    if hint is str:
        return "x"
    if hint is bool:
        return False
    if hint is int:
        return 1
    if hint is float:
        return 0.5
    if hint is Decimal:
        return Decimal("1.00")
    if hint is datetime.datetime:
        return datetime.datetime.now(datetime.UTC)
    if hint is datetime.date:
        return datetime.date(2026, 1, 1)
    if hint is datetime.timedelta:
        return datetime.timedelta(days=1)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return next(iter(hint))
    if origin in (dict, Mapping):
        return {}
    if origin in (list, Sequence, Iterable):
        return []
    raise AssertionError(f"no good value for {hint!r}")


def bad_values(hint: Any, field: str) -> list[tuple[str, Any, str]]:
    """(label, value, rule) for each way an argument of ``hint`` can be wrong."""
    options = _options(hint)
    kinds = {typing.get_origin(o) or o for o in options}
    cases: list[tuple[str, Any, str]] = []
    # ``Role | str``: a str is looked up in the enum, so a bad one breaks ``one_of``
    has_enum = any(isinstance(o, type) and issubclass(o, Enum) and len(o) > 1 for o in options)
    if uuid.UUID in kinds:
        cases += [("uuid-garbage", "not-a-uuid", "uuid"), ("uuid-int", 12345, "type")]
    if str in kinds and not has_enum:
        limit = TEXT_MAX_LENGTHS.get(field, DEFAULT_TEXT_MAX_LENGTH)
        cases += [
            ("nul", "a\x00b", "no_nul"),
            ("surrogate", "gw_\ud800", "unicode"),
            ("too-long", "x" * (limit + 1), "max_length"),
        ]
        if bytes not in kinds and int not in kinds:
            cases.append(("bytes", b"abc", "type"))
    if int in kinds and bool not in kinds:
        cases += [
            ("int-as-str", "10", "type"),
            ("int-overflow", INT64_MAX + 1, "int64"),
            ("int-as-float", 1.5, "type"),
        ]
    if float in kinds:
        cases += [("nan", math.nan, "finite"), ("float-as-str", "0.5", "type")]
    if Decimal in kinds:
        cases += [("decimal-nan", Decimal("NaN"), "finite"), ("decimal-as-float", 0.1, "type")]
    if bool in kinds:
        cases.append(("bool-as-str", "yes", "type"))
    if kinds & {dict, Mapping}:
        cases += [
            ("json-list", [1, 2], "json_object"),
            ("json-object", {"x": object()}, "json"),
            ("json-nan", {"x": math.nan}, "finite"),
            ("json-nul", {"x": "a\x00"}, "no_nul"),
            ("json-overflow", {"x": 2**70}, "int64"),
        ]
    if kinds & {list, Sequence, Iterable}:
        item = typing.get_args(next(o for o in options if typing.get_origin(o)))[0]
        cases.append(("list-as-str", "abc", "list"))
        if item is str:
            cases += [("list-of-int", [1], "list_of_strings"), ("list-nul", ["a\x00"], "no_nul")]
        elif item is float:
            cases.append(("vector-nan", [0.1, math.nan], "finite"))
        elif typing.get_origin(item) not in (dict, Mapping):  # objects: the service's own
            cases.append(("list-of-int", [1], "type"))
    if datetime.datetime in kinds or datetime.date in kinds or datetime.timedelta in kinds:
        cases.append(("time-as-str", "2026-01-01", "type"))
    for option in options:
        if isinstance(option, type) and issubclass(option, Enum) and len(option) > 1:
            nul_rule = "no_nul" if str in kinds else "one_of"
            cases += [("enum-bogus", "BOGUS", "one_of"), ("enum-nul", "a\x00", nul_rule)]
        if typing.get_origin(option) is typing.Literal:
            cases.append(("literal-bogus", "bogus", "one_of"))
    return cases


@dataclass(frozen=True)
class Case:
    function: Callable[..., Any]
    kwargs: dict[str, Any]
    field: str
    rule: str

    @property
    def service(self) -> str:
        return self.function.__name__


def generated_cases() -> list[Any]:
    cases = []
    for function in public_functions():
        hints = typing.get_type_hints(inspect.unwrap(function))
        parameters = inspect.signature(inspect.unwrap(function)).parameters
        required = {
            name: good_value(hints[name], name)
            for name, p in parameters.items()
            if p.default is inspect.Parameter.empty
        }
        for name in parameters:
            for label, value, rule in bad_values(hints.get(name, Any), name):
                case = Case(function, {**required, name: value}, name, rule)
                cases.append(pytest.param(case, id=f"{function.__name__}-{name}-{label}"))
    return cases


GENERATED = generated_cases()


async def row_counts() -> list[int]:
    return list(await fetchval(COUNT_ROWS))


async def assert_refused(case: Case) -> None:
    """The call raises a ValidationError naming ``case.field``/``case.rule``; nothing written."""
    before = await row_counts()
    with pytest.raises(ValidationError) as caught:
        async with savepoint():
            await case.function(**case.kwargs)
    assert (caught.value.field, caught.value.rule) == (case.field, case.rule), caught.value
    assert case.field in caught.value.message
    assert await row_counts() == before


@pytest.mark.parametrize("case", GENERATED)
async def test_a_bad_argument_is_refused_naming_its_field(case: Case) -> None:
    # given the database as it is
    # when a public service or selector is called with one bad argument
    # then it raises a typed error naming that argument and the rule, and writes nothing
    await assert_refused(case)


def test_the_suite_covers_every_public_function_with_150_inputs() -> None:
    # every public service and selector has at least one bad input, 150 in all
    covered = Counter(param.values[0].service for param in GENERATED)
    assert {f.__name__ for f in public_functions()} <= set(covered)
    assert sum(covered.values()) >= 150


def test_every_public_function_checks_its_arguments_at_the_boundary() -> None:
    # a new service without the decorator would skip every check above
    unchecked = [f.__name__ for f in public_functions() if not hasattr(f, "__wrapped__")]
    assert unchecked == []


# --- The examples the issue lists, with the rows they need ---------------------------------


async def _user(email: str = "owner@example.com") -> uuid.UUID:
    from apps.users.services import user_create

    return (await user_create(email=email, name="Owner")).id


async def _campaign(user_id: uuid.UUID) -> uuid.UUID:
    from apps.ads.services.campaigns import campaign_create

    record = await campaign_create(user_id=user_id, name="Spring", budget=Decimal("100.00"))
    return record.id


async def test_campaign_list_with_a_bogus_status() -> None:
    from apps.ads.selectors import campaign_list

    await assert_refused(Case(campaign_list, {"status": "BOGUS"}, "status", "one_of"))


async def test_document_list_with_a_bogus_state() -> None:
    from apps.knowledge.selectors import document_list

    await assert_refused(Case(document_list, {"state": "bogus"}, "state", "one_of"))


@pytest.mark.parametrize(
    ("key", "rule"), [(None, "type"), ("gw_\ud800", "unicode"), ("gw_\x00", "no_nul")]
)
async def test_api_key_verify_with_a_bad_key(key: object, rule: str) -> None:
    from apps.users.services import api_key_verify

    await assert_refused(Case(api_key_verify, {"key": key}, "key", rule))


async def test_limits_and_k_given_as_strings() -> None:
    from apps.knowledge.selectors import document_search_vector
    from apps.users.selectors import user_list

    await assert_refused(Case(user_list, {"limit": "10"}, "limit", "type"))
    embedding = [0.1] * 8
    await assert_refused(
        Case(document_search_vector, {"embedding": embedding, "k": "5"}, "k", "type")
    )


async def test_api_key_issue_with_scopes_that_are_not_a_list() -> None:
    from apps.users.services import api_key_issue

    user_id = await _user()
    kwargs = {"user_id": user_id, "name": "k", "scopes": 5}
    await assert_refused(Case(api_key_issue, kwargs, "scopes", "list"))


async def test_metadata_that_is_not_a_json_object() -> None:
    from apps.ads.services.campaigns import campaign_create

    user_id = await _user()
    base = {"user_id": user_id, "name": "Spring", "budget": Decimal("100.00")}
    for metadata, rule in (({"x": object()}, "json"), ([1, 2], "json_object")):
        kwargs = {**base, "metadata": metadata}
        await assert_refused(Case(campaign_create, kwargs, "metadata", rule))


async def test_tags_given_as_one_string() -> None:
    from apps.knowledge.services import document_create

    kwargs = {"name": "Doc", "content": "text", "category": "faq", "tags": "abc"}
    await assert_refused(Case(document_create, kwargs, "tags", "list"))


async def test_a_one_megabyte_campaign_name() -> None:
    from apps.ads.services.campaigns import campaign_create

    user_id = await _user()
    kwargs = {"user_id": user_id, "name": "x" * 1_000_000, "budget": Decimal("1.00")}
    await assert_refused(Case(campaign_create, kwargs, "name", "max_length"))


async def test_a_signed_cursor_with_one_value() -> None:
    from apps.ads.selectors import campaign_list
    from apps.core.pagination import encode_cursor

    cursor = encode_cursor(list_name="campaigns:None:None", values=[1])
    await assert_refused(Case(campaign_list, {"cursor": cursor}, "cursor", "wrong_list"))


@pytest.mark.parametrize(
    "email",
    [
        ADMIN_EMAIL.replace("@", "\u200b@"),  # zero-width space: looks like the admin
        "\u202eadmin@gateway.example",  # right-to-left override
        "ad\u2066min@gateway.example",  # bidi isolate
        "\ufeffadmin@gateway.example",  # byte-order mark
    ],
)
async def test_an_email_with_invisible_characters(email: str) -> None:
    from apps.users.services import user_create

    await _user(ADMIN_EMAIL)
    kwargs = {"email": email, "name": "Mallory"}
    await assert_refused(Case(user_create, kwargs, "email", "invisible_character"))


@pytest.mark.parametrize("field", ["impressions", "clicks", "conversions", "spend"])
async def test_campaign_add_totals_overflow_names_the_right_field(field: str) -> None:
    from apps.ads.services.campaigns import campaign_add_totals

    campaign_id = await _campaign(await _user())
    big: Any = Decimal("99999999.00") if field == "spend" else INT64_MAX - 1
    kwargs: dict[str, Any] = {"campaign_id": campaign_id, field: big}
    await campaign_add_totals(**kwargs)
    one = Decimal("1.00") if field == "spend" else 2
    await assert_refused(Case(campaign_add_totals, {**kwargs, field: one}, field, "max"))
    # and the totals are what they were
    totals = await campaign_add_totals(campaign_id=campaign_id)
    column = {"spend": "total_spend"}.get(field, f"total_{field}")
    assert getattr(totals, column) == big


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("name", "Spring\x00", "no_nul"),
        ("campaign_id", "1234", "uuid"),
        ("impressions", 2**63, "int64"),
    ],
)
async def test_nul_bad_uuid_and_overflow_name_their_field(
    field: str, value: object, rule: str
) -> None:
    from apps.ads.services.campaigns import campaign_add_totals, campaign_update

    campaign_id = await _campaign(await _user())
    function = campaign_update if field == "name" else campaign_add_totals
    kwargs = {"campaign_id": campaign_id, field: value}
    await assert_refused(Case(function, kwargs, field, rule))


# --- Property checks: whatever the bad value looks like, the answer is the same -------------

_PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.", min_size=1, max_size=20)


@_PROPERTY
@given(
    local=_LOCAL,
    invisible=st.sampled_from(sorted(INVISIBLE_CHARACTERS)),
    position=st.integers(min_value=0, max_value=20),
)
async def test_any_email_hiding_an_invisible_character_is_refused(
    local: str, invisible: str, position: int
) -> None:
    from apps.users.services import user_create

    email = f"{local}@example.com"
    position = min(position, len(email))
    email = email[:position] + invisible + email[position:]
    kwargs = {"email": email, "name": "Mallory"}
    await assert_refused(Case(user_create, kwargs, "email", "invisible_character"))


_JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@_PROPERTY
@given(value=_JSON.filter(lambda v: v is not None and not isinstance(v, dict)))
async def test_metadata_that_is_any_json_but_an_object_is_refused(value: object) -> None:
    from apps.knowledge.services import document_create

    kwargs = {"name": "Doc", "content": "text", "category": "faq", "metadata": value}
    await assert_refused(Case(document_create, kwargs, "metadata", "json_object"))


@_PROPERTY
@given(
    value=st.dictionaries(st.text(max_size=3), _JSON, max_size=3),
    bad=st.sampled_from([math.nan, math.inf, -math.inf]),
)
async def test_a_json_object_hiding_nan_is_refused(value: dict[str, object], bad: float) -> None:
    from apps.knowledge.services import document_create

    kwargs = {
        "name": "Doc",
        "content": "text",
        "category": "faq",
        "metadata": {**value, "deep": [{"x": bad}]},
    }
    await assert_refused(Case(document_create, kwargs, "metadata", "finite"))


# --- The same limits in the database ---------------------------------------------------------

LENGTH_CHECKS = (
    "SELECT conrelid::regclass::text AS table_name, conname, convalidated,"
    " pg_get_constraintdef(oid) AS definition"
    " FROM pg_constraint WHERE contype = 'c' AND conname LIKE '%\\_length'"
    # (not the copies on the monthly partitions of conversions and performance_metrics)
    " AND NOT (SELECT relispartition FROM pg_class WHERE oid = conrelid)"
)


async def test_the_database_holds_the_text_length_limits_too() -> None:
    from tests.helpers import connection

    rows = await connection().fetch(LENGTH_CHECKS)
    found = {(row["table_name"], row["conname"]): row for row in rows}
    # every name, email and content column is limited, validated, at the Python limit
    for table, column, limit in (
        ("users", "email", 254),
        ("users", "name", 200),
        ("api_keys", "name", 100),
        ("campaigns", "name", 200),
        ("experiments", "name", 200),
        ("knowledge_documents", "name", 200),
        ("knowledge_documents", "content", 1_000_000),
        ("assets", "filename", DEFAULT_TEXT_MAX_LENGTH),
    ):
        row = found[(table, f"{table}_{column}_length")]
        assert row["convalidated"], row
        assert f"<= {limit}" in row["definition"], row
    assert len(found) == 38  # 3 users, 13 media, 11 ads, 11 knowledge columns


@pytest.mark.parametrize(
    ("table", "column", "length"),
    [("campaigns", "name", 201), ("campaigns", "description", 10_001)],
)
async def test_a_writer_that_skips_the_services_is_refused_by_the_database(
    table: str, column: str, length: int
) -> None:
    import asyncpg

    from tests.helpers import assert_refused as assert_sql_refused

    campaign_id = await _campaign(await _user())
    await assert_sql_refused(
        f"UPDATE {table} SET {column} = repeat('x', $2) WHERE id = $1",
        campaign_id,
        length,
        error=asyncpg.CheckViolationError,
        constraint=f"{table}_{column}_length",
    )
