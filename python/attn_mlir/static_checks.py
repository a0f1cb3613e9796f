"""Static facts the upstream verifiers accept wrongly: checked right after parsing.

Each check below is something the MLIR 22 verifiers let through, and that then
fails deep in the lowering (see also `source.precheck`, for text the parser
would abort on):

- A static entry of `tensor.expand_shape`'s `output_shape` must equal the result
  type's dim (`memref.expand_shape` checks this; the tensor op does not, and the
  mismatch surfaces only after bufferization).

`check(module)` returns located errors; it changes nothing.
"""

from __future__ import annotations

from mlir import ir

from .constants import is_a
from .diagnostics import Diagnostic, error_at


def _static_shape(value: ir.Value) -> list[int | None] | None:
    if not is_a(value.type, ir.ShapedType):
        return None
    t = ir.ShapedType(value.type)
    if not t.has_rank:
        return None
    return [None if t.is_dynamic_dim(i) else t.get_dim_size(i) for i in range(t.rank)]


def _expand_shape(op: ir.Operation) -> Diagnostic | None:
    if op.name != "tensor.expand_shape" or "static_output_shape" not in op.attributes:
        return None
    result = _static_shape(op.results[0])
    try:
        static = list(ir.DenseI64ArrayAttr(op.attributes["static_output_shape"]))
    except (ValueError, TypeError):
        return None
    if result is None or len(static) != len(result):
        return None
    dynamic = ir.ShapedType.get_dynamic_size()
    for pos, (given, size) in enumerate(zip(static, result)):
        if given != dynamic and size is not None and given != size:
            return error_at(op, f"'tensor.expand_shape' output_shape gives {given} at position "
                              f"{pos}, but the result type has {size}")
    return None


def check(module: ir.Module) -> list[Diagnostic]:
    """Located errors for the ops of `module` that break a fact above."""
    found: list[Diagnostic] = []

    def visit(op):
        op = op.operation if hasattr(op, "operation") else op
        for rule in (_expand_shape,):
            if (diagnostic := rule(op)) is not None:
                found.append(diagnostic)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found
