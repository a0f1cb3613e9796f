"""`--verify-diagnostics`: check produced diagnostics against `expected-*` comments.

The syntax is MLIR's: `// expected-error {{text}}` on the line the diagnostic
points at, or `// expected-remark@+1 {{text}}`, `@-2`, `@above`, `@below`,
`@unknown` (a diagnostic without a location); `expected-warning` and
`expected-note` likewise. Spaces may separate the parts (`expected-error @+1 {{x}}`),
as upstream's verifier allows. The text matches as a substring; with
`expected-error-re`, the parts inside `{{...}}` are regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnostics import AttnError, Diagnostic

# Upstream's pattern (mlir/lib/IR/Diagnostics.cpp): the text runs to the last `}}`.
_EXPECTED = re.compile(
    r"expected-(?P<sev>error|warning|remark|note)(?P<re>-re)? *"
    r"(?:@(?P<where>[+-]\d+|above|below|unknown))? *\{\{(?P<text>.*)\}\}")
_REGEX_PART = re.compile(r"\{\{(.*?)\}\}")


@dataclass
class Expected:
    severity: str
    text: str
    line: int
    source_line: int
    source_col: int = 1
    matched: bool = False
    regex: re.Pattern | None = None

    def matches(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return self.text in message


def _regex(text: str) -> re.Pattern:
    """`expected-*-re`: literal text with `{{regex}}` parts."""
    out, last = [], 0
    for m in _REGEX_PART.finditer(text):
        out.append(re.escape(text[last:m.start()]))
        out.append(m[1])
        last = m.end()
    out.append(re.escape(text[last:]))
    return re.compile("".join(out))


def parse_expectations(text: str, first_line: int, filename: str | None = None) -> list[Expected]:
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        for m in _EXPECTED.finditer(line):
            here = first_line + index
            where = m["where"]
            if where is None:
                target = here
            elif where == "unknown":
                target = None
            elif where == "above":
                target = here - 1
            elif where == "below":
                target = here + 1
            else:
                target = here + int(where)
            try:
                regex = _regex(m["text"]) if m["re"] else None
            except re.error as e:
                raise AttnError([Diagnostic("error", f"invalid regular expression in "
                                                     f"expected-{m['sev']}-re: {e}",
                                            filename, here, m.start() + 1)]) from None
            out.append(Expected(m["sev"], m["text"], target, here, m.start() + 1, regex=regex))
    return out


def check(diagnostics: list[Diagnostic], expected: list[Expected], filename: str) -> list[str]:
    """Errors (as printable lines) for unmatched expectations and unexpected diagnostics."""
    problems = []

    def match(d: Diagnostic) -> None:
        for e in expected:
            if not e.matched and e.severity == d.severity and e.line == (d.line or None) \
                    and e.matches(d.message):
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
