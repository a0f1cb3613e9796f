"""Scalars that depend only on constants become one constant.

    truncf(2.5 : f64) : f32        ==>  2.5 : f32
    mulf(c1, c2), sitofp(c), ...   ==>  the value, in the result type

torch-mlir emits every Python float as an f64 `arith.constant` captured by a
generic body and truncated there; after this, a body reads `mulf %in, %c` with
`%c` an f32 constant, which is what every scale matcher asks for. Legality: all
operands are scalar `arith.constant`s; the value is computed in float64 numpy
and rounded once to the result type (for `truncf` that is exactly the op's
meaning; for other ops on f32 the f64 evaluation rounds once instead of per op,
which is at least as accurate).
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith


_BINARY = {"arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply,
           "arith.divf": np.divide}
_CASTS = ("arith.truncf", "arith.extf", "arith.sitofp", "arith.uitofp")
_FLOATS = {"f16": np.float16, "f32": np.float32, "f64": np.float64}


def scalar_value(value: ir.Value) -> float | None:
    """The number a scalar float/int `arith.constant` holds, else None."""
    if isinstance(value, ir.BlockArgument):
        return None
    op = value.owner
    if op.name != "arith.constant":
        return None
    attr = op.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return attr.value
    if isinstance(attr, ir.IntegerAttr) and (isinstance(value.type, ir.IndexType) or (
            isinstance(value.type, ir.IntegerType) and value.type.width > 1)):
        return float(attr.value)
    return None


def float_constant(value: float, float_type: ir.Type) -> ir.Value:
    """An `arith.constant` of `float_type` holding `value` rounded to that type."""
    rounded = float(_FLOATS[str(float_type)](value))
    return arith.ConstantOp(float_type, ir.FloatAttr.get(float_type, rounded)).result


def outside_bodies(op) -> ir.InsertionPoint:
    """Before the function-level op enclosing `op`: where a new constant is captured from."""
    top = op
    while top.parent is not None and top.parent.name != "func.func":
        top = top.parent
    return ir.InsertionPoint(top)


def _folded(op) -> float | None:
    if op.name in _CASTS:
        return scalar_value(op.operands[0])
    if op.name == "arith.negf":
        x = scalar_value(op.operands[0])
        return None if x is None else -x
    if op.name in _BINARY:
        a, b = scalar_value(op.operands[0]), scalar_value(op.operands[1])
        if a is None or b is None or (op.name == "arith.divf" and b == 0.0):
            return None
        return float(_BINARY[op.name](np.float64(a), np.float64(b)))
    return None


def fold_scalar(op, rewriter) -> bool:
    """Replace a scalar float op on constants by a constant; whether it did."""
    if len(op.results) != 1 or str(op.results[0].type) not in _FLOATS:
        return False
    value = _folded(op)
    if value is None:
        return False
    with outside_bodies(op), op.location:
        new = float_constant(value, op.results[0].type)
    rewriter.replace_op(op, [new])
    return True


REWRITES = [(name, fold_scalar) for name in _CASTS + ("arith.negf",) + tuple(_BINARY)]
