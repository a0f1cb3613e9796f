"""`--verify-diagnostics`: check produced diagnostics against `expected-*` comments.

The syntax is MLIR's: `// expected-error {{text}}` on the line the diagnostic
points at, or `// expected-remark@+1 {{text}}`, `@-2`, `@above`, `@below`;
`expected-warning` and `expected-note` likewise. The text matches as a substring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnostics import Diagnostic

_EXPECTED = re.compile(
    r"expected-(?P<sev>error|warning|remark|note)"
    r"(?:@(?P<where>[+-]\d+|above|below))?\s*\{\{(?P<text>.*?)\}\}")


@dataclass
class Expected:
    severity: str
    text: str
    line: int
    source_line: int
    source_col: int = 1
    matched: bool = False


def parse_expectations(text: str, first_line: int) -> list[Expected]:
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        for m in _EXPECTED.finditer(line):
            here = first_line + index
            where = m["where"]
            if where is None:
                target = here
            elif where == "above":
                target = here - 1
            elif where == "below":
                target = here + 1
            else:
                target = here + int(where)
            out.append(Expected(m["sev"], m["text"], target, here, m.start() + 1))
    return out


def check(diagnostics: list[Diagnostic], expected: list[Expected], filename: str) -> list[str]:
    """Errors (as printable lines) for unmatched expectations and unexpected diagnostics."""
    problems = []

    def match(d: Diagnostic) -> None:
        for e in expected:
            if not e.matched and e.severity == d.severity and e.line == d.line and e.text in d.message:
                e.matched = True
                return
        where = f"{d.file}:{d.line}:{d.col}: " if d.line else f"{filename}: "
        problems.append(f"{where}error: unexpected {d.severity}: {d.message}")

    for d in diagnostics:
        match(d)
        for note in d.notes:
            match(note)
    for e in expected:
        if not e.matched:
            problems.append(f"{filename}:{e.source_line}:{e.source_col}: error: expected {e.severity} "
                            f"\"{e.text}\" was not produced")
    return problems
