"""The record of what rewrites did: which fired, which were skipped, and why.

Rewrite passes call `fired(...)` / `skipped(...)`; `attn-report` (and the
`--attn-report` flag) reads the log to say, per function, what each rewrite
saved. A skip caused by a user-visible limit (e.g. `max-weight-growth`) is
also emitted as a remark so that `--verify-diagnostics` can check it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .diagnostics import emit_remark, location_parts


@dataclass
class RewriteEvent:
    pass_name: str
    function: str | None
    fired: bool
    message: str
    flops_saved: int = 0
    constant_bytes_delta: int = 0
    location: str = ""


class RewriteLog:
    def __init__(self) -> None:
        self.events: list[RewriteEvent] = []

    def clear(self) -> None:
        self.events.clear()


current_log = RewriteLog()


def _function_of(op) -> str | None:
    op = op.operation if hasattr(op, "operation") else op
    while op is not None:
        if op.name == "func.func":
            return ir.StringAttr(op.attributes["sym_name"]).value
        op = op.parent
    return None


def _where(op) -> str:
    file, line, col = location_parts((op.operation if hasattr(op, "operation") else op).location)
    return f"{file}:{line}:{col}" if file else ""


def fired(pass_name: str, op, message: str, *, flops_saved: int = 0,
          constant_bytes_delta: int = 0) -> None:
    current_log.events.append(RewriteEvent(pass_name, _function_of(op), True, message,
                                           flops_saved, constant_bytes_delta, _where(op)))


def skipped(pass_name: str, op, reason: str, *, remark: bool = False) -> None:
    current_log.events.append(RewriteEvent(pass_name, _function_of(op), False, reason,
                                           location=_where(op)))
    if remark:
        emit_remark(op.operation if hasattr(op, "operation") else op, f"{pass_name}: {reason}")
