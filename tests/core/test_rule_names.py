"""One set of rule names: every ``rule="..."`` written in apps/ is listed in RULES."""

from __future__ import annotations

import re
from pathlib import Path

from apps.core.validation import RULES

APPS = Path(__file__).resolve().parents[2] / "apps"
RULE_LITERAL = re.compile(r"""\brule\s*=\s*["']([^"']+)["']""")


def test_every_rule_name_in_apps_is_one_of_the_project_rules() -> None:
    # given every Python module of apps/ (migrations hold no rules)
    unknown: list[str] = []
    for path in sorted(APPS.rglob("*.py")):
        if "piccolo_migrations" in path.parts:
            continue
        # when its rule literals are read
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for name in RULE_LITERAL.findall(line):
                if name not in RULES:
                    unknown.append(f"{path.relative_to(APPS.parent)}:{number}: {name}")
    # then each one is a listed rule: one name per rule across the project
    assert not unknown, "rule names not in apps.core.validation.RULES:\n" + "\n".join(unknown)
