"""The fenced code blocks of the repository's Markdown files, for the docs tests."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "<!-- docs-test: skip -->"
# A fence's language says whether the docs test runs it: ``python`` runs, the others are
# prose (a shell session, SQL, a diagram). An unlabeled fence or a spelling such as ``py``
# would silently escape the test, so it is refused.
LANGUAGES = frozenset({"python", "sh", "sql", "text", "dot", "toml", "json", "ini"})
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclasses.dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block: where it starts (1-based line of the fence), its language, its code."""

    path: Path
    line: int
    language: str
    code: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(PROJECT_ROOT)}:{self.line}"


class MarkdownError(Exception):
    """A Markdown file breaks the docs-test conventions (the message names file and line)."""


def documentation_files() -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def code_blocks(path: Path) -> list[CodeBlock]:
    """The fenced blocks of ``path``; raises MarkdownError on a convention broken."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    where = path.relative_to(PROJECT_ROOT)
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if lines[index].strip() == SKIP_MARKER:
            following = _FENCE.match(lines[index + 1]) if index + 1 < len(lines) else None
            if following is None or following["info"].strip() != "python":
                raise MarkdownError(
                    f"{where}:{index + 1}: {SKIP_MARKER} must be the line just before "
                    "a ```python block"
                )
        if opening is None:
            index += 1
            continue
        language = opening["info"].strip().split(" ")[0]
        if language not in LANGUAGES:
            raise MarkdownError(
                f"{where}:{index + 1}: a code fence needs one of the languages "
                f"{', '.join(sorted(LANGUAGES))} (got {language or 'none'!r}); "
                "Python examples are ```python"
            )
        fence = opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end == len(lines):
            raise MarkdownError(f"{where}:{index + 1}: the code fence is never closed")
        skipped = index > 0 and lines[index - 1].strip() == SKIP_MARKER
        blocks.append(
            CodeBlock(
                path=path,
                line=index + 1,
                language=language,
                code="\n".join(lines[index + 1 : end]) + "\n",
                skipped=skipped,
            )
        )
        index = end + 1
    return blocks
