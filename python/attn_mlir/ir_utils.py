"""Small helpers over the MLIR Python bindings used across passes."""

from __future__ import annotations

import functools

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


def any_op_named(root: ir.Operation, name: str) -> bool:
    hit = []

    def visit(op):
        if op.name == name:
            hit.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    root.walk(visit, ir.WalkOrder.PRE_ORDER)
    return bool(hit)


def root_op(op: ir.Operation) -> ir.Operation:
    """The outermost op that holds `op` (its module, for ops in a parsed module)."""
    while op.parent is not None:
        op = op.parent
    return op


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


def in_block_order(ops: list[ir.Operation]) -> list[ir.Operation]:
    """`ops` (all in one block, no repeats) in the order they appear there."""
    return sorted(ops, key=functools.cmp_to_key(
        lambda a, b: 0 if a == b else (-1 if a.is_before_in_block(b) else 1)))
