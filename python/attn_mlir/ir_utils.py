"""Small helpers over the MLIR Python bindings used across passes."""

from __future__ import annotations

from mlir import ir


def walk_ops(root: ir.Operation, name: str | None = None) -> list[ir.Operation]:
    """All ops nested under `root` (pre-order), optionally only those named `name`."""
    found: list[ir.Operation] = []

    def visit(op):
        if name is None or op.name == name:
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def rewrite_each(root: ir.Operation, name: str | None, rewrite) -> int:
    """Offer every op under `root` (named `name`, or all when None) to `rewrite(op)`.

    `rewrite` returns truthy when it changed the IR. A change may erase ops that a
    walk taken before it still holds (a replaced generic's body ops, the producers of
    a raised chain), and touching such a handle reads freed memory. So the IR is walked
    afresh after every change, as a greedy driver would, and the ops that `rewrite`
    declined (which stay in the IR) are not offered again. Returns the number of changes.
    """
    declined: set[int] = set()
    changes = 0
    while True:
        for op in walk_ops(root, name):
            if hash(op) in declined:
                continue
            if rewrite(op):
                changes += 1
                break
            declined.add(hash(op))
        else:
            return changes


def any_op_named(root: ir.Operation, name: str) -> bool:
    hit = []

    def visit(op):
        if op.name == name:
            hit.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    root.walk(visit, ir.WalkOrder.PRE_ORDER)
    return bool(hit)


def functions(module_op: ir.Operation) -> list[ir.Operation]:
    """The `func.func` ops directly in a module."""
    body = module_op.regions[0].blocks[0]
    return [op.operation for op in body.operations if op.operation.name == "func.func"]


def symbol_name(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value


def is_public(func_op: ir.Operation) -> bool:
    if "sym_visibility" not in func_op.attributes:
        return True
    return ir.StringAttr(func_op.attributes["sym_visibility"]).value == "public"


def is_declaration(func_op: ir.Operation) -> bool:
    return len(func_op.regions[0].blocks) == 0
