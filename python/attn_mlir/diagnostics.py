"""Diagnostics in the form users know from mlir-opt: `file:line:col: error: message`.

MLIR reports errors through `ir.MLIRError`; project passes also emit remarks
(a rewrite that was skipped, and why). Both become `Diagnostic` records so the
tools print them the same way and `--verify-diagnostics` can match them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlir import ir

_FILE_LOC = re.compile(r'loc\("(?P<file>(?:[^"\\]|\\.)*)":(?P<line>\d+):(?P<col>\d+)')


@dataclass
class Diagnostic:
    severity: str  # "error", "warning", "remark" or "note"
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    notes: list["Diagnostic"] = field(default_factory=list)

    def format(self) -> str:
        where = ""
        if self.file is not None and self.line:
            where = f"{self.file}:{self.line}:{self.col or 0}: "
        text = f"{where}{self.severity}: {self.message}"
        for note in self.notes:
            text += "\n" + note.format()
        return text


_OP_NAME = re.compile(r'^\s*(?:%[^=]*=\s*)?"([\w.$-]+)"\(')


def one_line(d: Diagnostic) -> Diagnostic:
    """`d` cut to its first line, without notes that repeat the op (a region dump after
    "block with no terminator"); `--mlir-print-op-on-diagnostic` keeps everything."""
    first, _, rest = d.message.partition("\n")
    first = first.rstrip()
    if rest and (m := _OP_NAME.search(rest)):  # the dump starts with the op: name it
        first += f" '{m[1]}'"
    notes = [one_line(n) for n in d.notes if not n.message.startswith("see current operation")]
    return Diagnostic(d.severity, first, d.file, d.line, d.col, notes)


class AttnError(Exception):
    """An error to report to the user as diagnostics (never as a traceback)."""

    def __init__(self, diagnostics: list[Diagnostic] | str, *, usage: bool = False):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic("error", diagnostics)]
        self.diagnostics = diagnostics
        self.usage = usage
        super().__init__("\n".join(d.format() for d in diagnostics))


def location_parts(loc: ir.Location) -> tuple[str | None, int | None, int | None]:
    """The first file:line:col found in `loc` (fused and call-site locations included)."""
    match = _FILE_LOC.search(str(loc))
    if not match:
        return None, None, None
    return match["file"], int(match["line"]), int(match["col"])


_SEVERITY = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.REMARK: "remark",
    ir.DiagnosticSeverity.NOTE: "note",
}


def error_at(op, message: str) -> Diagnostic:
    """An error located at `op` (file:line:col of its location)."""
    file, line, col = location_parts(op.location)
    return Diagnostic("error", message, file, line, col)


def _from_info(info, rename: dict[str, str]) -> Diagnostic:
    file, line, col = location_parts(info.location)
    file = rename.get(file, file)
    notes = [_from_info(n, rename) for n in info.notes]
    return Diagnostic(_SEVERITY.get(info.severity, "error"), info.message, file, line, col, notes)


def from_mlir_error(err: ir.MLIRError, rename: dict[str, str] | None = None) -> AttnError:
    """Turn an MLIRError into an AttnError, renaming temporary source files."""
    rename = rename or {}
    diags = [_from_info(d, rename) for d in err.error_diagnostics]
    if not diags:
        diags = [Diagnostic("error", str(err).splitlines()[0] if str(err) else "MLIR error")]
    return AttnError(diags)


class Remarks:
    """Remarks emitted by project passes, in order; tools print or verify them."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def emit(self, op_or_loc, message: str, severity: str = "remark") -> None:
        loc = op_or_loc if isinstance(op_or_loc, ir.Location) else op_or_loc.location
        file, line, col = location_parts(loc)
        self.items.append(Diagnostic(severity, message, file, line, col))


# The sink that project passes write to; tools swap in their own per input.
current_remarks = Remarks()


def emit_remark(op_or_loc, message: str) -> None:
    current_remarks.emit(op_or_loc, message)


def traceback_wanted() -> bool:
    """ATTN_MLIR_TRACEBACK=1: print the Python traceback of internal errors."""
    import os

    return os.environ.get("ATTN_MLIR_TRACEBACK", "") not in ("", "0")


# Progress notes for crash reports. The command-line tools run their work in a child
# process (tools/guard.py) and set `progress_fd` there; if MLIR or LLVM then kills the
# child, the parent names the last stage in its report.
progress_fd: int | None = None


def stage(text: str) -> None:
    """Record what the compiler is doing now (for `the compiler crashed ... while TEXT`)."""
    _progress("stage", text)


def parsing_file(path: str, name: str) -> None:
    """Record the file being parsed and the name diagnostics give it."""
    _progress("source", f"{path}\t{name}")


def _progress(kind: str, text: str) -> None:
    if progress_fd is None:
        return
    import os

    try:
        os.write(progress_fd, f"{kind} {text}".replace("\n", " ").encode("utf-8", "replace")
                 + b"\n")
    except OSError:
        pass
