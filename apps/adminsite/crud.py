"""``GatewayCRUD``: the PiccoloCRUD behind every admin table, with this project's rules.

Piccolo Admin builds one ``PiccoloCRUD`` per table and offers no hook to swap the class,
so :func:`apps.adminsite.site.build_admin` installs this subclass while it builds the admin.
On top of the stock behaviour it:

- hides secret columns (and heavy ones such as embeddings) from every response, from the
  form schemas and from what a write may set;
- records every create, update and delete in the audit log, in the write's transaction;
- soft-deletes rows of tables with ``deleted_at``, and lists only live rows unless the
  request filters on ``deleted_at``;
- filters choice columns (statuses, roles) by exact value, which their indexes serve;
- on big tables, answers counts from the planner's estimate above a threshold and fetches
  deep pages through an index-only scan of the ids first (stock: exact ``COUNT(*)`` and
  ``OFFSET`` over whole rows).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from functools import cached_property
from typing import Any, ClassVar, cast

import pydantic
from piccolo.apps.user.tables import BaseUser
from piccolo.columns import JSON, JSONB, ForeignKey
from piccolo.columns.base import Column
from piccolo.columns.combination import WhereRaw
from piccolo.columns.operators.comparison import IsNull
from piccolo.query import Select
from piccolo.table import Table
from piccolo.utils.pydantic import create_pydantic_model
from piccolo_api.crud.endpoints import (
    CustomJSONResponse,
    OrderBy,
    ParamException,
    Params,
    PiccoloCRUD,
)
from piccolo_api.crud.exceptions import MalformedQuery
from piccolo_api.crud.validators import apply_validators
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apps.adminsite import selectors, services
from apps.adminsite.config import TIMESTAMP_COLUMNS, GatewayTableConfig
from apps.adminsite.services import atomic
from apps.audit.services import Actor, field_changes
from apps.audit.tables import AuditAction
from apps.core.errors import GatewayError, NotFoundError, ValidationError

#: What piccolo_api / piccolo_admin offer no public hook for (the list's filters and
#: parameters, hidden fields, soft delete, the CRUD class create_admin builds) is done by
#: overriding (or calling) these private methods of PiccoloCRUD and by swapping
#: ``piccolo_admin.endpoints.PiccoloCRUD`` while the admin is built (site.build_admin). They
#: were written against these versions, which pyproject.toml pins below the next minor;
#: tests/admin/test_private_api.py fails with what changed when an upgrade breaks them.
WRITTEN_AGAINST = {"piccolo_api": "1.11", "piccolo_admin": "1.14"}
PRIVATE_SIGNATURES = {
    "_parse_params": "(self, params: 'QueryParams') -> 'dict[str, Any]'",
    "_split_params": "(self, params: 'dict[str, Any]') -> 'Params'",
    "_apply_filters": "(self, query: 'Union[Select, Count, Objects, Delete]', "
    "params: 'Params') -> 'Union[Select, Count, Objects, Delete]'",
    "_clean_data": "(self, data: 'dict[str, Any]') -> 'dict[str, Any]'",
}
#: The fields of piccolo_api's private ``Params`` that _split_params and _deep_page use.
PARAMS_FIELDS = (
    "operators",
    "match_types",
    "fields",
    "order_by",
    "include_readable",
    "page",
    "page_size",
    "visible_fields",
    "range_header",
)

# The deleted parents of the table being listed, for _apply_filters (which cannot await).
_DEAD_PARENTS: ContextVar[tuple[Any, ...]] = ContextVar("dead_parents", default=())


def _as_sent(cls: Any, value: Any) -> Any:
    """A field validator that keeps the value as sent (checked later, by the admin)."""
    return value


class _WriteRefused(Exception):
    """Rolls the audited write back when Piccolo answered it with an error response."""

    def __init__(self, response: Response) -> None:
        self.response = response


def request_actor(request: Request) -> Actor:
    """The admin login making the request."""
    user = getattr(getattr(request, "user", None), "user", None)
    if user is None:
        return Actor(id=None, username="")
    return Actor(id=user.id, username=user.username)


def error_response(error: GatewayError) -> JSONResponse:
    """A typed error the way Piccolo Admin's UI shows it: on the field when it names one
    (``"<field> field - <message>"``), else as the form's error."""
    status = 404 if error.code == "not_found" else 422
    body: dict[str, Any] = {**error.as_dict()}
    if error.field:
        body["detail"] = [{"loc": ["body", error.field], "msg": error.message, "type": error.rule}]
    else:
        body["custom_form_error"] = error.message
    return JSONResponse(body, status_code=status)


class GatewayCRUD(PiccoloCRUD):
    """PiccoloCRUD with hidden columns, audit, soft delete and big-table paging."""

    table_configs: ClassVar[Mapping[type[Table], GatewayTableConfig]] = {}
    estimate_count_above: ClassVar[int] = 100_000

    def __init__(self, table: type[Table], **kwargs: Any) -> None:
        self.config = self.table_configs.get(table) or GatewayTableConfig(table)
        if self.config.read_only:
            kwargs["read_only"] = True
        self.is_login_table = issubclass(table, BaseUser)
        self.hidden = frozenset() if self.is_login_table else self.config.hidden_column_names()
        self.read_only_names = (
            frozenset() if self.is_login_table else self.config.read_only_column_names()
        )
        self.secret_fields = frozenset(c._meta.name for c in table._meta.secret_columns)
        self.db_names = {
            c._meta.db_column_name: c._meta.name
            for c in table._meta.columns
            if c._meta.db_column_name != c._meta.name
        }
        super().__init__(table, **kwargs)
        options = self.visible_fields_options
        self.visible_fields_options = tuple(
            i for i in options if i.split(".")[0] not in self.hidden
        )
        self.schema_extra["visible_fields_options"] = self.visible_fields_options

    # -- what the API shows and accepts -------------------------------------------------

    def shown_columns(self) -> list[Column]:
        return [c for c in self.table._meta.columns if c._meta.name not in self.hidden]

    def _hidden_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.table._meta.columns if c._meta.name in self.hidden)

    def _read_only_columns(self) -> tuple[Column, ...]:
        """Shown in lists, details and forms, never written by a generic edit."""
        primary_key = self.table._meta.primary_key._meta.name
        return tuple(
            c
            for c in self.table._meta.columns
            if c._meta.name in self.read_only_names
            and c._meta.name != primary_key
            and c._meta.name not in self.hidden
        )

    @staticmethod
    def _by_name(model: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
        """``model`` accepting field names as well as the ``db_column_name`` aliases.

        Piccolo names a foreign key's pydantic field by its attribute (``asset``) with its
        database column (``asset_id``) as alias; stock PiccoloCRUD then mixes the two and
        edits or filters on such a column fail (or silently filter on NULL).
        """
        config = {**model.model_config, "validate_by_name": True, "validate_by_alias": True}
        namespace = {"model_config": config, "__module__": model.__module__}
        return cast(type[pydantic.BaseModel], type(model.__name__, (model,), namespace))

    @cached_property
    def pydantic_model(self) -> type[pydantic.BaseModel]:
        return self._by_name(
            create_pydantic_model(
                self.table,
                model_name=f"{self.table.__name__}In",
                exclude_columns=(self.table._meta.primary_key, *self._hidden_columns()),
                json_schema_extra={"extra": self.schema_extra},
            )
        )

    @cached_property
    def typed_model_optional(self) -> type[pydantic.BaseModel]:
        """Every shown column, optional and typed: how a submitted value is parsed."""
        return self._by_name(
            create_pydantic_model(
                self.table,
                include_default_columns=True,
                all_optional=True,
                exclude_columns=self._hidden_columns(),
                model_name=f"{self.table.__name__}Optional",
            )
        )

    @cached_property
    def pydantic_model_optional(self) -> type[pydantic.BaseModel]:
        """The PATCH body and the detail response: read-only columns untyped.

        The edit form sends back the read-only fields it shows. They are never written, so
        the body must not be refused over them: Piccolo Admin's edit page can send one empty
        (it fills its inputs from two requests racing each other and clears them when the
        current table changes), and stock validation then refused the whole save with
        "created_at field - Input should be a valid datetime" or "metadata field - Unable
        to parse the JSON". :meth:`_changes` decides what a read-only value means.

        JSON fields are untyped too: stock validation refuses an emptied one ("Unable to
        parse the JSON"), where an empty JSON field means the column's empty value (``{}``)
        and only invalid JSON is refused, on the field (:meth:`_coerce`).
        """
        typed = self.typed_model_optional
        loose: dict[str, Any] = {}
        json_columns = [
            c
            for c in self.table._meta.columns
            if isinstance(c, JSON | JSONB) and c._meta.name in typed.model_fields
        ]
        for column in [*self._read_only_columns(), *json_columns]:
            name = column._meta.name
            alias = column._meta.db_column_name
            field = pydantic.Field(default=None, alias=alias if alias != name else None)
            loose[name] = (Any, field)
        if not loose:
            return typed
        # Piccolo's model checks a JSON field with a validator named "<name>_is_json": one of
        # the same name here replaces it (a validator is inherited unless overridden).
        validators = {
            f"{column._meta.name}_is_json": pydantic.field_validator(column._meta.name)(_as_sent)
            for column in json_columns
        }
        return pydantic.create_model(
            typed.__name__,
            __base__=typed,
            __module__=typed.__module__,
            __validators__=validators,
            **loose,
        )

    @cached_property
    def pydantic_model_filters(self) -> type[pydantic.BaseModel]:
        return self._by_name(super().pydantic_model_filters)

    @apply_validators  # type: ignore[untyped-decorator]
    async def get_schema(self, request: Request) -> JSONResponse:
        # By name, like the rows the list and detail endpoints return. Read-only fields are
        # marked: the page's script disables their inputs (a disabled input is not sent).
        schema = self.pydantic_model.model_json_schema(by_alias=False)
        read_only = sorted(n for n in self.read_only_names if n in schema["properties"])
        for name in read_only:
            schema["properties"][name].setdefault("extra", {})["read_only"] = True
        schema.setdefault("extra", {})["read_only_columns"] = read_only
        # The "add row" form: what a create may set differs (a campaign's user, say).
        creatable = self.config.creatable_column_names() if self.config.create else frozenset()
        schema["extra"]["add_read_only_columns"] = sorted(
            n for n in schema["properties"] if n not in creatable
        )
        return JSONResponse(schema)

    def _names(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Keys given by database column name (``asset_id``) renamed to the field's name."""
        renamed: dict[str, Any] = {}
        for key, value in data.items():
            base, dunder, suffix = key.partition("__")
            name = self.db_names.get(base, base) if base else base
            renamed[f"{name}{dunder}{suffix}"] = value
        return renamed

    def _parse_params(self, params: Any) -> dict[str, Any]:
        return self._names(super()._parse_params(params))

    def _split_params(self, params: dict[str, Any]) -> Params:
        try:
            response: Params = super()._split_params(params)
        except (ValueError, AttributeError, KeyError) as error:
            # An unknown column in __order or __visible_fields (stock: HTTP 500).
            raise ParamException(f"unknown column: {error}") from None
        unlisted = self.hidden | self.secret_fields
        hidden_filters = unlisted & set(response.fields)
        if hidden_filters:
            raise ParamException(f"cannot filter on {', '.join(sorted(hidden_filters))}")
        hidden_orders = unlisted & {o.column._meta.name for o in response.order_by or ()}
        if hidden_orders:
            raise ParamException(f"cannot order by {', '.join(sorted(hidden_orders))}")
        shown = [c for c in response.visible_fields or () if c._meta.name not in self.hidden]
        response.visible_fields = shown or self.shown_columns()
        for name in response.fields:
            try:
                column = self.table._meta.get_column_by_name(name)
            except ValueError:
                raise ParamException(f"{name} isn't a valid field name.") from None
            if column._meta.choices and f"{name}__match" not in params:
                response.match_types[name] = "exact"
        live_only = "deleted_at" not in response.fields
        if self.config.soft_deletes() and live_only:
            response.fields["deleted_at"] = None
            response.operators["deleted_at"] = IsNull
        setattr(response, "live_parents_only", live_only)  # noqa: B010  read by _apply_filters
        order_by = response.order_by or list(self.config.get_order_by())
        primary_key = self.table._meta.primary_key
        if not any(o.column._meta.name == primary_key._meta.name for o in order_by):
            order_by = [*order_by, OrderBy(primary_key, ascending=True)]
        response.order_by = order_by
        return response

    def _apply_filters(self, query: Any, split_params: Params) -> Any:
        query = super()._apply_filters(query, split_params)
        dead = _DEAD_PARENTS.get()
        if self.config.live_parents and dead and getattr(split_params, "live_parents_only", False):
            column = self.config.live_parents[0]
            # The ids go into the SQL text, not a parameter: after five executions of a
            # prepared statement PostgreSQL may switch to a generic plan that cannot see the
            # array, and on a deep page that plan was 6x slower (155 ms against 25 ms at
            # 1,000,000 clips with 200 deleted parents, docs/admin.md). Each id is re-made
            # by uuid.UUID, so the text holds nothing but canonical UUIDs.
            ids = ",".join(f"'{uuid.UUID(str(parent))}'" for parent in dead)
            query = query.where(WhereRaw(f"{column} <> ALL(ARRAY[{ids}]::uuid[])"))
        return query

    async def _with_dead_parents(self, call: Callable[[], Awaitable[Response]]) -> Response:
        """Run a list or count call knowing which parents are deleted (see ``live_parents``)."""
        if self.config.dead_parents_sql is None:
            return await call()
        dead = await selectors.dead_parent_ids(table=self.table, sql=self.config.dead_parents_sql)
        token = _DEAD_PARENTS.set(tuple(dead))
        try:
            return await call()
        finally:
            _DEAD_PARENTS.reset(token)

    # -- lists and counts ---------------------------------------------------------------

    @apply_validators  # type: ignore[untyped-decorator]
    async def get_count(self, request: Request) -> Response:
        return await self._with_dead_parents(lambda: self._count(request))

    async def _count(self, request: Request) -> Response:
        params = self._parse_params(request.query_params)
        try:
            split_params = self._split_params(params)
            count_query = self._apply_filters(self.table.count(), split_params)
        except (ParamException, MalformedQuery) as exception:
            return Response(str(exception), status_code=400)
        if self.config.big_table:
            estimate = await self._estimate(split_params)
            if estimate > self.estimate_count_above:
                return JSONResponse(
                    {"count": estimate, "page_size": self.page_size, "estimated": True}
                )
        count = await count_query
        return JSONResponse({"count": count, "page_size": self.page_size})

    async def _estimate(self, split_params: Params) -> int:
        user_filters = set(split_params.fields) - {"deleted_at"}
        if not user_filters:
            return await selectors.table_row_estimate(table=self.table)
        query = self._apply_filters(self.table.select(self.table._meta.primary_key), split_params)
        return await selectors.query_row_estimate(query=cast(Select[Any], query))

    @apply_validators  # type: ignore[untyped-decorator]
    async def get_all(self, request: Request, params: dict[str, Any] | None = None) -> Response:
        return await self._with_dead_parents(lambda: self._list(request, params))

    async def _list(self, request: Request, params: dict[str, Any] | None) -> Response:
        params = self._clean_data(params) if params else {}
        try:
            split_params = self._split_params(params)
        except ParamException as exception:
            return Response(str(exception), status_code=400)
        page_size = split_params.page_size or self.page_size
        deep = split_params.page > 1
        nested = any(c._meta.call_chain for c in split_params.visible_fields or ())
        if not (self.config.big_table and deep) or nested or split_params.range_header:
            stock = PiccoloCRUD.get_all.__wrapped__  # validators already ran
            return cast(Response, await stock(self, request, params))
        if page_size > self.max_page_size:
            return JSONResponse({"error": "The page size limit has been exceeded"}, 403)
        return await self._deep_page(split_params, page_size)

    def _ordered(self, query: Select[Any], split_params: Params) -> Select[Any]:
        for order_by in split_params.order_by or ():
            query = query.order_by(order_by.column, ascending=order_by.ascending)
        return query

    async def _deep_page(self, split_params: Params, page_size: int) -> Response:
        """OFFSET over an index-only scan of ids, then the page's rows by id."""
        primary_key = self.table._meta.primary_key
        try:
            ids_query = self._apply_filters(self.table.select(primary_key), split_params)
        except MalformedQuery as exception:
            return Response(str(exception), status_code=400)
        ids_query = self._ordered(cast(Select[Any], ids_query), split_params)
        ids_query = ids_query.offset(page_size * (split_params.page - 1)).limit(page_size)
        ids = [row[primary_key._meta.name] for row in await selectors.query_rows(query=ids_query)]
        visible_fields = split_params.visible_fields or self.shown_columns()
        readable = (
            [
                self.table._get_related_readable(c)
                for c in visible_fields
                if isinstance(c, ForeignKey)
            ]
            if split_params.include_readable
            else []
        )
        rows: list[dict[str, Any]] = []
        if ids:
            query = self.table.select(*visible_fields, *readable, exclude_secrets=True).where(
                primary_key.is_in(ids)
            )
            rows = await selectors.query_rows(query=self._ordered(query, split_params))
        body = self.pydantic_model_plural(
            include_readable=split_params.include_readable,
            include_columns=tuple(visible_fields),
        )(rows=rows).model_dump_json()
        return CustomJSONResponse(body)

    # -- audited writes -----------------------------------------------------------------

    def _tracked_columns(self) -> list[Column]:
        return [c for c in self.table._meta.columns if c._meta.name not in self.hidden]

    async def _snapshot(self, row_id: object) -> dict[str, Any] | None:
        return await selectors.row_snapshot(
            table=self.table, row_id=row_id, columns=self._tracked_columns()
        )

    async def _audited(
        self, request: Request, action: AuditAction, row_id: object, write: Any
    ) -> Response:
        """Run ``write`` and its audit entry in one transaction; an error response rolls back."""
        try:
            async with atomic(self.table):
                old = await self._snapshot(row_id) if row_id is not None else None
                response: Response = await write()
                if response.status_code >= 400:
                    raise _WriteRefused(response)
                if row_id is None:
                    created = json.loads(bytes(response.body))
                    # A list of inserted rows, or {"id": ...} for a login (create_user).
                    created = created[0] if isinstance(created, list) else created
                    row_id = created[self.table._meta.primary_key._meta.name]
                new = await self._snapshot(row_id)
                changes = field_changes(old=old, new=new, secret_fields=self.secret_fields)
                if changes or action is not AuditAction.UPDATE:
                    await services.admin_audit_record(
                        actor=request_actor(request),
                        action=action,
                        table=self.table,
                        row_id=row_id,
                        changes=changes,
                    )
        except _WriteRefused as refused:
            return refused.response
        return response

    def _refuse_hidden(self, data: Mapping[str, Any]) -> Response | None:
        hidden = self.hidden & set(data)
        if hidden:
            return Response(f"Unrecognised keys - {sorted(hidden)}.", status_code=400)
        return None

    # -- the generic edit: through the owning app's service, changed fields only ------

    def _coerce(self, column: Column, value: Any) -> Any:
        """``value`` from a form or a PATCH as the column's Python value, or a field error."""
        name = column._meta.name
        if isinstance(column, JSON | JSONB):
            if value is None or (isinstance(value, str) and not value.strip()):
                # an emptied JSON field: the column's empty value ('{}' when not null)
                return None if column._meta.null else {}
            if not isinstance(value, str):
                return value
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValidationError(
                    f"{name} must be valid JSON: {error.msg} at line {error.lineno}, "
                    f"column {error.colno} (leave it empty for {{}})",
                    field=name,
                    rule="json",
                ) from None
        try:
            instance = self.typed_model_optional.model_validate({name: value})
        except pydantic.ValidationError as error:
            message = error.errors()[0]["msg"]
            raise ValidationError(f"{name}: {message}", field=name, rule="type") from None
        return getattr(instance, name)

    @staticmethod
    def _same(new: Any, old: Any) -> bool:
        """Whether a submitted value leaves the stored one as it is.

        The admin's date picker drops microseconds (and the browser keeps milliseconds):
        a timestamp sent back at that precision is the stored one, untouched.
        """
        if isinstance(new, datetime.datetime) and isinstance(old, datetime.datetime):
            if new.tzinfo is None or old.tzinfo is None:
                return new == old
            return new in (
                old,
                old.replace(microsecond=0),
                old.replace(microsecond=old.microsecond // 1000 * 1000),
            )
        return bool(new == old)

    def _read_only_error(self, name: str) -> ValidationError:
        hint = self.config.read_only_hints.get(name, "the system sets it")
        return ValidationError(f"{name} is read only here: {hint}", field=name, rule="read_only")

    async def _changes(self, row_id: object, data: Mapping[str, Any]) -> dict[str, Any]:
        """The editable fields ``data`` really changes; refuses read-only and unknown ones."""
        snapshot = await self._snapshot(row_id)
        if snapshot is None:
            raise NotFoundError(
                f"{self.table._meta.tablename} {row_id} not found", field="row_id", rule="exists"
            )
        current = self._names(snapshot)  # by field name, like ``data``
        changes: dict[str, Any] = {}
        for name, raw in data.items():
            if name not in current:
                raise ValidationError(f"{name} is not a field", field=name, rule="unknown_field")
            column = self.table._meta.get_column_by_name(name)
            if name in self.read_only_names:
                if raw is None or raw == "":
                    continue  # an input the form left empty: read-only fields are not written
                try:
                    same = self._same(self._coerce(column, raw), current[name])
                except ValidationError:
                    same = False
                if not same:
                    raise self._read_only_error(name)
                continue
            value = self._coerce(column, raw)
            if not self._same(value, current[name]):
                changes[name] = value
        return changes

    async def _row_response(self, row_id: object, status_code: int = 200) -> Response:
        row = (
            await self.table.select(exclude_secrets=True)
            .where(self.table._meta.primary_key == row_id)
            .first()
        )
        body = self.pydantic_model_optional(**(row or {})).model_dump_json()
        return CustomJSONResponse(body, status_code=status_code)

    async def _edit(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        data = self._names(data)
        refused = self._refuse_hidden(data)
        if refused is not None:
            return refused
        try:
            changes = await self._changes(row_id, data)
            if changes and self.config.update is None:
                raise ValidationError(
                    f"{self.table._meta.tablename} rows are not edited here",
                    field=next(iter(changes)),
                    rule="read_only",
                )
            if changes:
                assert self.config.update is not None
                await services.admin_row_update(
                    table=self.table,
                    row_id=row_id,
                    actor=request_actor(request),
                    changes=changes,
                    update=self.config.update,
                    snapshot=lambda: self._snapshot(row_id),
                )
        except GatewayError as error:
            return error_response(error)
        return await self._row_response(row_id)

    async def _create(self, request: Request, data: dict[str, Any]) -> Response:
        if self.config.create is None:
            return JSONResponse(
                {
                    "detail": f"New {self.table._meta.tablename} rows come from "
                    f"{self.config.create_hint}, not from this form."
                },
                status_code=405,
            )
        # /new/ lists every column with its default, the hidden ones too: those stay unset.
        data = {k: v for k, v in self._names(data).items() if not (k in self.hidden and v is None)}
        refused = self._refuse_hidden(data)
        if refused is not None:
            return refused
        values: dict[str, Any] = {}
        creatable = self.config.creatable_column_names()
        try:
            for name, raw in data.items():
                column = self.table._meta.get_column_by_name(name)
                if column is None:
                    raise ValidationError(
                        f"{name} is not a field", field=name, rule="unknown_field"
                    )
                if name not in creatable:
                    # The "add row" form and /new/ carry the defaults; anything else is refused.
                    if name == self.table._meta.primary_key._meta.name or name in TIMESTAMP_COLUMNS:
                        continue
                    if raw is None or self._same(
                        self._coerce(column, raw), column.get_default_value()
                    ):
                        continue
                    raise self._read_only_error(name)
                values[name] = self._coerce(column, raw)
            row_id = await services.admin_row_create(
                table=self.table,
                actor=request_actor(request),
                values=values,
                create=self.config.create,
                snapshot=self._snapshot,
            )
        except GatewayError as error:
            return error_response(error)
        return JSONResponse([{"id": str(row_id)}], status_code=201)

    async def post_single(self, request: Request, data: dict[str, Any]) -> Response:
        if not self.is_login_table:
            return await self._create(request, data)
        data = self._names(data)
        return await self._audited(
            request,
            AuditAction.CREATE,
            None,
            lambda: super(GatewayCRUD, self).post_single(request, data),
        )

    async def _update(
        self, request: Request, row_id: Any, data: dict[str, Any], stock: Any
    ) -> Response:
        """A PATCH or PUT: the generic edit, or (a login) the stock ``stock`` write, audited."""
        if not self.is_login_table:
            return await self._edit(request, row_id, data)
        data = self._names(data)
        return await self._audited(
            request, AuditAction.UPDATE, row_id, lambda: stock(request, row_id, data)
        )

    async def patch_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        return await self._update(request, row_id, data, super().patch_single)

    async def put_single(self, request: Request, row_id: Any, data: dict[str, Any]) -> Response:
        return await self._update(request, row_id, data, super().put_single)

    @apply_validators  # type: ignore[untyped-decorator]
    async def delete_single(self, request: Request, row_id: Any) -> Response:
        if self.config.soft_deletes():
            try:
                await services.admin_row_soft_delete(
                    table=self.table, row_id=row_id, actor=request_actor(request)
                )
            except GatewayError as error:
                return error_response(error)
            return Response(status_code=204)
        stock = PiccoloCRUD.delete_single.__wrapped__  # validators already ran

        async def hard_delete() -> Response:
            return cast(Response, await stock(self, request, row_id))

        return await self._audited(request, AuditAction.DELETE, row_id, hard_delete)
