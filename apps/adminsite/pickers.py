"""Row pickers and choice lists for the admin's custom forms.

Piccolo Admin renders a custom form's fields as plain inputs (an Enum field too) and its
form schema endpoint is static. :class:`FormChoices` sits in front of the admin: on an
authorised ``GET .../api/forms/<slug>/schema/`` it adds ``extra.choices`` (the shape
Piccolo Admin's table schemas use: ``{key: {"display_name", "value"}}``) to

- every Enum or Literal field (the members), and
- every field declared with :func:`row_picker`: the rows the form can act on, read at
  request time, labelled readably, newest first, at most :data:`PICKER_LIMIT` of them.
  When there are more (a big table), ``extra.more_rows`` is true: the list holds the
  newest ones and the field's text input stays, for a pasted id.

The script the admin page carries (``apps.adminsite.security.ADMIN_PAGE_SCRIPT``) shows a
field with choices as a select (beside the text input when ``more_rows``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The most rows a picker lists; with more, it lists the newest and takes a pasted id too.
PICKER_LIMIT = 200

_SCHEMA_PATH = re.compile(r"/api/forms/[^/]+/schema/?$")


Choices = Callable[..., Awaitable[list[tuple[Any, str]]]]
"""A selector of the app owning the rows: ``(*, limit)`` to ``(id, label)`` pairs, newest
first (``user_choices``, ``asset_choices``, ...)."""

#: Every picker by name (the table it picks from), and the selector that lists its rows.
PICKERS: dict[str, Choices] = {}


def row_picker(
    table: str,
    choices: Choices,
    description: str,
    *,
    listed: str | None = None,
    default: Any = ...,
) -> Any:
    """A form field choosing one row of ``table``; ``choices`` (a selector of the app that
    owns the table) lists the rows the form can act on.

    ``listed`` names the rows the list offers (default: the live ``table`` rows); the
    description says the list holds the newest of them and that a pasted id works too.
    """
    if PICKERS.setdefault(table, choices) is not choices:
        raise ValueError(f"the picker {table} already lists rows with another selector")
    hint = (
        f"{description} Pick it from the list ({listed or f'live {table}'}, newest first, "
        f"at most {PICKER_LIMIT}), or paste its id (copy it from the table's list)."
    )
    return Field(
        default=default, description=hint, json_schema_extra={"extra": {"row_choices": table}}
    )


def _choices(pairs: list[tuple[Any, str]]) -> dict[str, dict[str, Any]]:
    return {str(value): {"display_name": label, "value": value} for value, label in pairs}


def _enum_values(schema: dict[str, Any], prop: dict[str, Any]) -> list[Any] | None:
    if "enum" in prop:
        return list(prop["enum"])
    ref = prop.get("$ref") or next(
        (part.get("$ref") for part in prop.get("allOf", []) if "$ref" in part), None
    )
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return None
    target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return list(target["enum"]) if "enum" in target else None


async def add_choices(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a form's JSON schema) with ``extra.choices`` on its choice fields."""
    for prop in schema.get("properties", {}).values():
        extra = prop.setdefault("extra", {})
        table = extra.get("row_choices")
        if table:
            rows = await PICKERS[table](limit=PICKER_LIMIT + 1)
            extra["choices"] = _choices(
                [(str(row_id), f"{label} · {row_id}") for row_id, label in rows[:PICKER_LIMIT]]
            )
            extra["more_rows"] = len(rows) > PICKER_LIMIT
            continue
        values = _enum_values(schema, prop)
        if values is not None:
            extra["choices"] = _choices([(value, str(value)) for value in values])
    return schema


class FormChoices:
    """ASGI middleware adding choices to the admin's form schemas (see the module doc).

    The admin answers the request first (its login and admin checks included); only a
    successful JSON answer is rewritten.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not _SCHEMA_PATH.search(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            else:
                await send(message)

        await self.app(scope, receive, capture)
        assert start is not None
        payload = bytes(body)
        if start["status"] == 200:
            schema = await add_choices(json.loads(payload))
            payload = json.dumps(schema).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
