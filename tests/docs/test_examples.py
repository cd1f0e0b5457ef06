"""Every ```python block of README.md and docs/*.md runs as written, against seeded data.

Blocks of one file run in order in one namespace (a later block may use an earlier one's
names), with top-level ``await``; each file starts from the sample data of ``piccolo db
seed``, inside the test's rolled-back transaction. A block that is only a fragment is
preceded by the line ``<!-- docs-test: skip -->``; any other block that cannot run fails.
"""

from __future__ import annotations

import ast
import inspect
import traceback
from pathlib import Path

import pytest

from apps.db.seed import database_seed
from tests.docs.markdown import (
    PROJECT_ROOT,
    SKIP_MARKER,
    MarkdownError,
    code_blocks,
    documentation_files,
)

FILES = documentation_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PROJECT_ROOT)) for p in FILES])
async def test_the_python_examples_run_as_written(path: Path) -> None:
    runnable = [b for b in code_blocks(path) if b.language == "python" and not b.skipped]
    await database_seed()
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    for block in runnable:
        try:
            code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result
        except Exception:
            pytest.fail(
                f"the example at {block.where} does not run as written "
                f"(a fragment needs {SKIP_MARKER} on the line before it):\n"
                + traceback.format_exc(limit=-3)
            )


def test_the_docs_are_checked_somewhere() -> None:
    names = {path.relative_to(PROJECT_ROOT).as_posix() for path in FILES}
    assert {"README.md", "docs/data-model.md", "docs/services.md"} <= names
    runnable = [
        block
        for path in FILES
        for block in code_blocks(path)
        if block.language == "python" and not block.skipped
    ]
    assert len(runnable) >= 5


def test_a_marker_must_precede_a_python_block(tmp_path: Path) -> None:
    page = PROJECT_ROOT / "docs" / f"_probe_{tmp_path.name}.md"
    try:
        page.write_text(f"Text\n{SKIP_MARKER}\n\n```python\nx = 1\n```\n", encoding="utf-8")
        with pytest.raises(MarkdownError, match="must be the line just before a ```python"):
            code_blocks(page)
        page.write_text("```py\nx = 1\n```\n", encoding="utf-8")
        with pytest.raises(MarkdownError, match="got 'py'"):
            code_blocks(page)
        page.write_text(f"{SKIP_MARKER}\n```python\nx = (\n```\n```python\ny = 2\n```\n")
        first, second = code_blocks(page)
        assert first.skipped and not second.skipped and second.code == "y = 2\n"
    finally:
        page.unlink()


async def test_a_fragment_without_the_marker_fails() -> None:
    namespace: dict[str, object] = {}
    code = compile("await undefined_name()", "probe", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    with pytest.raises(NameError, match="undefined_name"):
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            await result
