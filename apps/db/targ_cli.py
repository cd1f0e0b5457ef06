"""How ``piccolo <group> <verb>`` reads and fails when started through this project.

Piccolo's CLI is ``targ``; ``piccolo_conf`` calls :func:`install` before ``piccolo.main``
runs it, so every command (ours and Piccolo's own) gets:

- group help: ``piccolo db`` and ``piccolo db --help`` list that group's verbs (targ says
  "Unrecognised command" and lists every command of every app);
- verb help without an empty ``return`` entry, and without ``**options`` shown as if it
  were a positional argument;
- failures as one ``error:`` line and exit status 1: a database that cannot be reached, a
  project error, a bad argument (targ prints "The command failed." and the whole help).
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from typing import Any

import asyncpg
import targ
from targ.format import Color, format_text, get_underline

from apps.core.errors import GatewayError

_INSTALLED = "_gatewaydb_installed"


def _shown_parameters(command: targ.Command) -> list[inspect.Parameter]:
    return [
        parameter
        for parameter in command.signature.parameters.values()
        if parameter.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]


def _arguments_description(command: targ.Command) -> str:
    output: list[str] = []
    for parameter in _shown_parameters(command):
        default = parameter.default
        shown = "" if default is inspect.Parameter.empty or default is None else default
        default_text = f"[default={json.dumps(shown)}]" if shown != "" else ""
        output.append(format_text(parameter.name, color=Color.cyan) + f" {default_text}")
        description = command._get_arg_description(arg_name=parameter.name)
        if description:
            output.append(description)
        output.append("")
    return "\n".join(output)


def _usage(command: targ.Command) -> str:
    output = [] if command.solo else [format_text(command.command_name or "", Color.green)]
    for parameter in _shown_parameters(command):
        if parameter.default is inspect.Parameter.empty:
            text = parameter.name
        elif parameter.default is False:
            text = f"[--{parameter.name}]"
        else:
            text = f"[--{parameter.name}=X]"
        output.append(format_text(text, color=Color.cyan))
    return " ".join(output)


def fail(message: str) -> None:
    """Print ``error: message`` on stderr and exit 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def error_line(error: BaseException) -> str:
    """The one line a failed command prints (no traceback, no help dump)."""
    if isinstance(error, GatewayError):
        return error.message
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
        return f"database error ({type(error).__name__}): {error}"
    if isinstance(error, OSError):
        return f"cannot connect to the database: {error.strerror or error}"
    return f"{type(error).__name__}: {error}".rstrip(": ")


def _call_with(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_with(command: targ.Command, arg_class: targ.Arguments) -> Any:
        if "--trace" in sys.argv:
            return original(command, arg_class)
        unknown = sorted(
            set(arg_class.kwargs) - {"help", *(p.name for p in _shown_parameters(command))}
        )
        has_var_keyword = len(_shown_parameters(command)) != len(command.signature.parameters)
        if unknown and not has_var_keyword:
            fail(f"{command.full_name}: unknown option --{unknown[0]} (see --help)")
        try:
            return original(command, arg_class)
        except (GatewayError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            fail(f"{command.full_name}: {error_line(error)}")
        except EOFError:
            fail(f"{command.full_name}: no terminal to ask on; pass every option (see --help)")
        except KeyboardInterrupt:
            fail("interrupted")
        except Exception as error:  # any other failure: one line too (--trace shows it all)
            fail(f"{command.full_name}: {error_line(error)}")
        return None

    return call_with


def _group_help(cli: targ.CLI, group: str) -> str:
    lines = ["", f"{group} commands", get_underline(len(group) + 9), ""]
    lines += ["Usage: piccolo " + group + " <command> [--help]", "", "Commands", "--------"]
    for command in cli.commands:
        if command.group_name == group:
            lines.append(format_text(command.command_name or "", color=Color.green))
            lines.append(command.description.strip())
            lines.append("")
    return "\n".join(lines)


def _run(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(cli: targ.CLI, solo: bool = False) -> Any:
        arguments = [a for a in sys.argv[1:] if a != "--trace"]
        groups = {command.group_name for command in cli.commands if command.group_name}
        if arguments and arguments[0] in groups:
            group = arguments[0]
            rest = arguments[1:]
            if not rest or rest == ["--help"]:
                print(_group_help(cli, group))
                return None
            if not cli._get_command(command_name=rest[0], group_name=group):
                print(_group_help(cli, group), file=sys.stderr)
                fail(f"piccolo {group}: unknown command {rest[0]!r}")
        return original(cli, solo)

    return run


def install() -> None:
    """Adapt targ (Piccolo's CLI) once per process."""
    if getattr(targ, _INSTALLED, False):
        return
    targ.Command.arguments_description = property(_arguments_description)  # type: ignore[assignment,method-assign]
    targ.Command.usage = property(_usage)  # type: ignore[assignment,method-assign]
    targ.Command.call_with = _call_with(targ.Command.call_with)  # type: ignore[method-assign]
    targ.CLI.run = _run(targ.CLI.run)  # type: ignore[method-assign]
    setattr(targ, _INSTALLED, True)
