"""Checks services run on their input before writing, raising a ValidationError that names
the field and the rule. The database enforces the same rules with CHECK constraints; checking
first gives a clearer message and saves a round trip.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import json
import math
import types
import uuid
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from collections.abc import Set as AbstractSet
from decimal import Decimal
from enum import Enum
from operator import countOf
from typing import (
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

from apps.core.errors import ValidationError
from apps.core.observability import DEFAULT_OPERATION, operation_var

E = TypeVar("E", bound=Enum)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The one set of rule names (``GatewayError.rule``) of the whole project; a test checks that
# every rule literal in apps/ is one of them. A rule means the same thing wherever it is used.
RULES: dict[str, str] = {
    # the shape of an argument
    "required": "a required argument or field is missing",
    "unknown_argument": "the function has no such keyword argument",
    "keyword_only": "services and selectors take keyword arguments only",
    "type": "the value is not of the declared type",
    "uuid": "not a UUID",
    "int64": "outside the range of a BIGINT",
    "finite": "NaN or an infinity",
    "one_of": "not one of the allowed values (an enum's members)",
    "not_blank": "empty or only blanks",
    "max_length": "longer than the column allows",
    "min_length": "shorter than required",
    "max_items": "more items than allowed",
    "no_nul": "holds a NUL character",
    "unicode": "not valid Unicode text",
    "invisible_character": "holds a zero-width or bidi control character",
    "json": "not JSON, or a value JSON cannot hold",
    "json_object": "not a JSON object",
    "list": "not a list",
    "list_of_strings": "not a list of strings",
    "min": "below the minimum",
    "max": "above the maximum",
    "range": "outside the allowed range",
    "scale": "more decimal places than the column keeps",
    "dimensions": "a vector of the wrong length",
    "non_zero": "a vector of zeros",
    "count": "not as many items as asked for",
    "timezone_aware": "a datetime without a timezone",
    "future": "must lie in the future",
    "after_start": "an end that comes before its start",
    "at_least_one": "none of a group of optional values was given",
    "exactly_one": "not exactly one of a group of values was given",
    "distinct": "values that must differ are equal",
    # formats
    "email_format": "not an email address",
    "url": "not an http(s) URL",
    "gs_url": "not a gs:// URL",
    "scheme": "a URL scheme that is not allowed",
    "mime_type": "not a type/subtype media type",
    "iso4217": "not a 3-letter currency code in capitals",
    "iso3166": "not a 2-letter country code in capitals",
    "identifier": "not a valid SQL identifier",
    "scope_format": "an API key scope that is not resource:action",
    "number": "a setting that is not a number",
    "pgbouncer_incompatible": "needs a direct connection, not PgBouncer's transaction pooling",
    # the rows
    "exists": "no live row has this id",
    "deleted": "no soft-deleted row has this id",
    "unique": "a row with this value exists",
    "email_taken": "a live user has this email",
    "read_only": "the field cannot be changed",
    "valid": "the credential is not valid",
    "required_scope": "the API key lacks the scope",
    "required_for_failed": "a failed asset needs its processing error",
    "only_for_failed": "only a failed asset has a processing error",
    "attributed_clip_missing": "the attributed clip does not exist",
    "performance_metric_duplicate_day": "one row per asset, platform and day",
    "embedding_wrong_length": "an embedding of the wrong length",
    # cursors
    "malformed": "a cursor that is not one of ours",
    "tampered": "a cursor whose signature does not match",
    "wrong_list": "a cursor of another list",
    "unknown_field": "an unknown field",
    "unknown_parameter": "an unknown parameter",
    # the database and the files it reads and writes
    "statement_timeout": "the statement ran too long",
    "lock_timeout": "a lock was not granted in time",
    "owner": "only the owner of the object may do this",
    "privilege": "the role lacks the privilege",
    "file": "the path is not a file",
    "folder_exists": "the path is a folder",
    "no_overwrite": "the file exists and --force was not given",
    "history_partition": "a partitioned table without its partition of the history before it",
    # the Prisma import (the reason a source row is quarantined)
    "prisma_schema": "the source is not the expected Prisma schema",
    "id": "a source table without an id column",
    "connection_lost": "the connection to the source broke while it was read",
    "null_to_default": "a NULL replaced by the column default",
    "currency_upper_cased": "a currency code upper-cased",
    "password_hash_unknown_format": "a password hash in an unknown format",
    "api_key_blank": "a blank API key",
    "email_duplicate_ignoring_case": "two emails equal but for case",
    "parent_quarantined": "a row whose parent was quarantined",
}


def one_of(enum: type[E], value: E | str, *, field: str) -> E:
    """``value`` as a member of ``enum``; ValidationError (rule ``one_of``) otherwise."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        raise ValidationError(
            f"{field} must be one of {allowed}, not {value!r}", field=field, rule="one_of"
        ) from None


def not_blank(value: str, *, field: str, max_length: int = 10_000) -> str:
    """``value`` stripped; ValidationError when empty (``not_blank``) or too long."""
    stripped = value.strip()
    if not stripped:
        raise ValidationError(f"{field} must not be blank", field=field, rule="not_blank")
    if len(stripped) > max_length:
        raise ValidationError(
            f"{field} must be at most {max_length} characters", field=field, rule="max_length"
        )
    return stripped


def finite(value: float | None, *, field: str, minimum: float | None = None) -> float | None:
    """A finite number (or None), at least ``minimum`` when given."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValidationError(f"{field} must be a finite number", field=field, rule="finite")
    if minimum is not None and value < minimum:
        raise ValidationError(f"{field} must be >= {minimum:g}", field=field, rule="min")
    return float(value)


def at_least(value: int | None, minimum: int, *, field: str) -> int | None:
    """An integer (or None) that is at least ``minimum``."""
    if value is not None and value < minimum:
        raise ValidationError(f"{field} must be >= {minimum}", field=field, rule="min")
    return value


def aware(value: datetime.datetime | None, *, field: str) -> datetime.datetime | None:
    """A timezone-aware datetime (or None): a naive one is ambiguous."""
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{field} must carry a timezone", field=field, rule="timezone_aware")
    return value


def json_object(value: Mapping[str, Any] | None, *, field: str) -> str:
    """``value`` (None = empty) as the JSON text of an object, for a ``$n::jsonb`` parameter."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be a JSON object", field=field, rule="json")
    if not value:
        return "{}"
    try:
        return json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(
            f"{field} must hold JSON values only", field=field, rule="json"
        ) from None


MONEY_MAX = Decimal("99999999.99")  # NUMERIC(10, 2)
_CENT = Decimal("0.01")


def money(value: Any, *, field: str) -> Decimal:
    """An exact, non-negative amount with at most two decimal places that fits NUMERIC(10,2).

    Floats are refused (``type``): 0.1 + 0.2 is not 0.3, and money must be exact. Then
    ``finite``, ``min`` (negative), ``max`` and ``scale`` (more than two decimal places).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError(
            f"{field} must be a Decimal (or an int), not {type(value).__name__}",
            field=field,
            rule="type",
        )
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValidationError(f"{field} must be a finite amount", field=field, rule="finite")
    if amount < 0:
        raise ValidationError(f"{field} must not be negative", field=field, rule="min")
    if amount > MONEY_MAX:
        raise ValidationError(f"{field} must be at most {MONEY_MAX}", field=field, rule="max")
    if amount != amount.quantize(_CENT):
        raise ValidationError(
            f"{field} must have at most two decimal places", field=field, rule="scale"
        )
    return amount


def count(value: Any, *, field: str) -> int:
    """A non-negative whole number that fits a BIGINT (``type``, ``min``, ``int64``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an int", field=field, rule="type")
    if value < 0:
        raise ValidationError(f"{field} must not be negative", field=field, rule="min")
    if value > INT64_MAX:
        raise ValidationError(f"{field} must fit a 64-bit integer", field=field, rule="int64")
    return value


_CURRENCY_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def currency(value: Any, *, field: str = "currency") -> str:
    """A three-letter ISO 4217 code in capitals, such as USD (``iso4217``)."""
    if not isinstance(value, str) or len(value) != 3 or not set(value) <= _CURRENCY_LETTERS:
        raise ValidationError(
            f"{field} must be a 3-letter ISO 4217 code such as USD", field=field, rule="iso4217"
        )
    return value


def not_before(
    start: Any,
    end: Any,
    *,
    field: str,
    start_field: str,
) -> None:
    """``end`` (the value of ``field``) must not come before ``start`` when both are set."""
    if start is not None and end is not None and end < start:
        raise ValidationError(
            f"{field} must not be before {start_field}", field=field, rule="after_start"
        )


# --- The boundary: one decorator every public service and selector wears -------------------
#
# ``@validated`` checks each keyword argument against the function's own type hints before
# the body runs, and raises ValidationError naming the field and the rule. It is hand-written
# rather than pydantic's ``validate_call`` because the checks are resolved once per function
# into plain closures (a point read pays a dict lookup and an isinstance per argument), because
# it must never coerce (``limit="10"`` is a mistake, not a 10) and because the rule names must
# be this module's own. The rule names (``ValidationError.rule``):
#   required, unknown_argument, type, uuid, int64, finite, one_of, max_length, no_nul,
#   unicode, invisible_character, json, json_object, list, list_of_strings

DEFAULT_TEXT_MAX_LENGTH = 10_000
# Field names whose length differs from the default, in characters; the tables enforce the
# same limits with CHECK constraints.
TEXT_MAX_LENGTHS: dict[str, int] = {
    "email": 254,
    "name": 200,
    "content": 1_000_000,
    "query": 10_000,
    "password": 1024,
    "key": 200,
}

# Zero-width and bidirectional control characters: invisible, so an address holding one looks
# like another user's. Refused in emails.
INVISIBLE_CHARACTERS = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)

Check = Callable[[Any], Any]


class MaxLength(int):
    """``Annotated[str, MaxLength(100)]``: this argument's own length limit."""


def invalid(field: str, rule: str, message: str) -> ValidationError:
    """The ValidationError for ``field`` breaking ``rule``."""
    return ValidationError(f"{field} {message}", field=field, rule=rule)


def check_text(value: Any, *, field: str, max_length: int | None = None) -> str:
    """A str without NUL or lone surrogates, at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise invalid(field, "type", f"must be a str, not {type(value).__name__}")
    limit = max_length or TEXT_MAX_LENGTHS.get(field, DEFAULT_TEXT_MAX_LENGTH)
    if len(value) > limit:
        raise invalid(field, "max_length", f"must be at most {limit} characters")
    if "\x00" in value:
        raise invalid(field, "no_nul", "must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(field, "unicode", "must be valid Unicode text") from None
        if field == "email" and not INVISIBLE_CHARACTERS.isdisjoint(value):
            raise invalid(
                field, "invisible_character", "must not contain invisible or bidi characters"
            )
    return value


def _json_value(value: Any, *, field: str) -> None:
    # A walk rather than json.dumps: it names the rule (NaN, NUL, a non-str key, an object).
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise invalid(field, "int64", "holds an integer out of the 64-bit range")
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise invalid(field, "finite", "must not hold NaN or infinity")
        elif isinstance(item, str):
            check_text(item, field=field, max_length=1_000_000)
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise invalid(field, "json", "must have str keys only")
                check_text(key, field=field, max_length=1_000_000)
                stack.append(sub)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            raise invalid(field, "json", f"must hold JSON values only, not {type(item).__name__}")


def check_json_object(value: Any, *, field: str) -> Any:
    """A JSON object: a Mapping of str keys to JSON values (no NaN, no NUL)."""
    if not isinstance(value, Mapping):
        raise invalid(field, "json_object", f"must be a JSON object, not {type(value).__name__}")
    _json_value(value, field=field)
    return value


def _check_for(hint: Any, field: str) -> Check | None:
    """The check of one type hint, or None when anything goes (Any, a protocol, ...)."""
    max_length: int | None = None
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        max_length = next((int(x) for x in extras if isinstance(x, MaxLength)), None)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _union_check(get_args(hint), field)
    if origin is Literal:
        allowed = get_args(hint)

        def literal(value: Any) -> Any:
            if value not in allowed:
                raise invalid(field, "one_of", f"must be one of {allowed}, not {value!r}")
            return value

        return literal
    if hint is Any or isinstance(hint, TypeVar):
        return None
    if hint is str:
        return _text_check(field, max_length)
    if hint is bool:
        return _isinstance_check(bool, field)
    if hint is int:
        return _int_check(field)
    if hint is float:
        return lambda value: _check_float(value, field)
    if hint is uuid.UUID:
        return _uuid_check(field)
    if hint is Decimal:
        return lambda value: _check_decimal(value, field)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda value: one_of(hint, value, field=field)
    if origin in (dict, Mapping, MutableMapping):
        return lambda value: check_json_object(value, field=field)
    if origin in (list, tuple, Sequence, Iterable, Collection, set, frozenset, AbstractSet):
        args = get_args(hint)
        return _sequence_check(args[0] if args else Any, field)
    if isinstance(hint, type):
        if getattr(hint, "_is_protocol", False):
            return None
        return _isinstance_check(hint, field)
    return None


# The checks of the common argument types take one Python call when the value is fine (a
# point read pays them on every call); anything unusual goes to the full check, which names
# the rule.


def _text_check(field: str, max_length: int | None) -> Check:
    limit = max_length or TEXT_MAX_LENGTHS.get(field, DEFAULT_TEXT_MAX_LENGTH)

    def check(value: Any) -> Any:
        if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
            return value
        return check_text(value, field=field, max_length=max_length)

    return check


def _int_check(field: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is int and INT64_MIN <= value <= INT64_MAX:
            return value
        return _check_int(value, field)

    return check


def _uuid_check(field: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is uuid.UUID:
            return value
        return _check_uuid(value, field)

    return check


def _isinstance_check(kind: type, field: str) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise invalid(field, "type", f"must be a {kind.__name__}, not {type(value).__name__}")
        return value

    return check


def _check_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "type", f"must be an int, not {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise invalid(field, "int64", "is out of the 64-bit integer range")
    return value


def _check_float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, "type", f"must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid(field, "finite", "must be a finite number")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise invalid(field, "int64", "is out of the 64-bit integer range")
    return value


def _check_decimal(value: Any, field: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise invalid(field, "type", f"must be a Decimal, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise invalid(field, "finite", "must be a finite number")
    return value


def _check_uuid(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise invalid(field, "uuid", "must be a UUID") from None
    raise invalid(field, "type", f"must be a UUID, not {type(value).__name__}")


def _sequence_check(item_hint: Any, field: str) -> Check:
    # Objects inside a list (experiment variants) are checked by the service, which names
    # their position; scalars are checked here.
    is_mapping = get_origin(item_hint) in (dict, Mapping, MutableMapping)
    item_check = None if is_mapping else _check_for(item_hint, field)
    of_strings = item_hint is str
    of_floats = item_hint is float

    def check(value: Any) -> Any:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise invalid(field, "list", f"must be a list, not {type(value).__name__}")
        items = value if isinstance(value, list | tuple) else list(value)
        if of_floats and _all_finite_floats(items):
            return items
        if item_check is not None:
            for item in items:
                if of_strings and not isinstance(item, str):
                    raise invalid(field, "list_of_strings", "must hold str items only")
                item_check(item)
        return items

    return check


def _all_finite_floats(items: Sequence[Any]) -> bool:
    """Whether ``items`` holds finite floats only, in two C-level passes (an embedding has
    1,536 items: checking them one call each cost more than the vector search itself).
    False means "check each item", which finds the offending one and names its rule."""
    # countOf compares each type with float by identity first: no set to hash into (which
    # cost as much as everything else the check does).
    if countOf(map(type, items), float) != len(items):
        return False
    # NaN or an infinity makes the sum NaN or infinite; so do finite values too large to add
    # up, which the item-by-item check then accepts.
    return math.isfinite(sum(items))


def _is_sentinel(option: Any) -> bool:
    # A one-member enum marks "argument not given"; its one_of error says nothing useful.
    return isinstance(option, type) and issubclass(option, Enum) and len(option) == 1


def _union_check(options: tuple[Any, ...], field: str) -> Check | None:
    allow_none = type(None) in options
    real = [option for option in options if option is not type(None)]
    checks = [(_check_for(option, field), _is_sentinel(option)) for option in real]
    if any(check is None for check, _ in checks):
        return None
    names = " or ".join(
        getattr(option, "__name__", str(option)) for option in real if not _is_sentinel(option)
    )

    def check(value: Any) -> Any:
        if value is None and allow_none:
            return None
        best: ValidationError | None = None
        best_rank = 3
        for one, sentinel in checks:
            assert one is not None
            try:
                return one(value)
            except ValidationError as error:
                # the most specific complaint wins: a rule of its own, then one_of, then type
                rank = 3 if sentinel else {"type": 2, "one_of": 1}.get(error.rule or "", 0)
                if rank < best_rank:
                    best, best_rank = error, rank
        if best is None or best_rank >= 2:
            suffix = " (or None)" if allow_none else ""
            raise invalid(field, "type", f"must be {names}{suffix}, not {type(value).__name__}")
        raise best

    return check


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _unknown(value: Any) -> Any:  # pragma: no cover - a marker, never called
    return value


_UNKNOWN: Check = _unknown


@overload
def validated(func: F, /) -> F: ...


@overload
def validated(
    *,
    error: type[ValidationError] = ValidationError,
    errors: Mapping[str, type[ValidationError]] | None = None,
) -> Callable[[F], F]: ...


def validated(
    func: F | None = None,
    /,
    *,
    error: type[ValidationError] = ValidationError,
    errors: Mapping[str, type[ValidationError]] | None = None,
) -> F | Callable[[F], F]:
    """Check the keyword arguments of an async service or selector at the boundary.

    ``@validated`` raises ValidationError; ``@validated(error=AppError)`` raises the app's
    own subclass, and ``errors={"field": Cls}`` a subclass for one argument, both for the
    argument checks and for the checks of this module that the body runs.
    """
    if func is None:
        return lambda f: _validated(f, error, errors or {})
    return _validated(func, error, errors or {})


def _validated(
    func: F, error: type[ValidationError], errors: Mapping[str, type[ValidationError]]
) -> F:
    signature = inspect.signature(func)
    required = frozenset(
        name
        for name, p in signature.parameters.items()
        if p.default is inspect.Parameter.empty and p.kind is inspect.Parameter.KEYWORD_ONLY
    )
    checks: dict[str, Check | None] = {}
    converts = error is not ValidationError or bool(errors)
    resolved = False
    label = func.__qualname__

    def resolve() -> None:
        nonlocal resolved
        hints = get_type_hints(func, include_extras=True)
        for name in signature.parameters:
            checks[name] = _check_for(hints[name], name) if name in hints else None
        resolved = True

    def refuse(failure: ValidationError) -> ValidationError:
        kind = errors.get(failure.field or "", error)
        if type(failure) is kind:
            return failure
        return kind(failure.message, field=failure.field, rule=failure.rule)

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not resolved:
            resolve()
        if args:
            raise refuse(
                ValidationError(
                    f"{func.__name__} takes keyword arguments only", rule="keyword_only"
                )
            )
        if required and not required <= kwargs.keys():
            missing = sorted(required - kwargs.keys())[0]
            raise refuse(invalid(missing, "required", "is required"))
        try:
            for name, value in kwargs.items():
                check = checks.get(name, _UNKNOWN)
                if check is not None:
                    if check is _UNKNOWN:
                        raise invalid(name, "unknown_argument", "is not an argument")
                    kwargs[name] = check(value)
        except ValidationError as failure:
            raise refuse(failure) from None
        # The queries of this call are counted under its name (apps/core/observability.py),
        # unless an outer call (a service, an admin request, a command) already named them.
        if operation_var.get() != DEFAULT_OPERATION:
            if not converts:
                return await func(**kwargs)
            token = None
        else:
            token = operation_var.set(label)
        try:
            return await func(**kwargs)
        except ValidationError as failure:
            # A check of this module run in the body (money, not_blank, ...) raises the base
            # class; at the boundary it becomes the app's own, like the argument checks above.
            if converts and type(failure) is ValidationError:
                raise refuse(failure) from None
            raise
        finally:
            if token is not None:
                operation_var.reset(token)

    return cast(F, wrapper)
