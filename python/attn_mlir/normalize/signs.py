"""One spelling for negation and for scaling by a constant.

    mulf x, -1  |  mulf -1, x  |  subf 0, x      ==>  negf x
    divf x, c                                     ==>  mulf x, (1/c)

Negation: `x * -1` is exactly `-x`; `0 - x` differs from `-x` only in the sign
of a zero result, which no consumer here (exp, add, compare, max) observes.
Division: `x * rn(1/c)` differs from `rn(x / c)` by at most one ulp more
(relative error <= 2^-23 in f32), exact when c is a power of two; attention's
tolerance is orders of magnitude larger. Legality: c is a scalar constant,
finite and nonzero, and 1/c is a finite normal number of the same type.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import arith

from .scalars import _FLOATS, float_constant, outside_bodies, scalar_value


def _reciprocal(c: float, float_type) -> float | None:
    if c == 0.0 or not math.isfinite(c):
        return None
    dtype = _FLOATS[str(float_type)]
    r = dtype(1.0) / dtype(c)
    if not np.isfinite(r) or abs(float(r)) < np.finfo(dtype).tiny:
        return None
    return float(r)


def canonical_sign(op, rewriter) -> bool:
    """Rewrite one `mulf`/`subf`/`divf` to its canonical spelling; whether it did."""
    if len(op.results) != 1 or str(op.results[0].type) not in _FLOATS or len(op.operands) != 2:
        return False
    a, b = op.operands[0], op.operands[1]
    if op.name == "arith.mulf":
        x = b if scalar_value(a) == -1.0 else a if scalar_value(b) == -1.0 else None
        if x is None:
            return False
        with ir.InsertionPoint(op), op.location:
            rewriter.replace_op(op, arith.NegFOp(x))
        return True
    if op.name == "arith.subf" and scalar_value(a) == 0.0 and scalar_value(b) is None:
        with ir.InsertionPoint(op), op.location:
            rewriter.replace_op(op, arith.NegFOp(b))
        return True
    if op.name == "arith.divf" and scalar_value(b) is not None and scalar_value(a) is None:
        r = _reciprocal(scalar_value(b), op.results[0].type)
        if r is None:
            return False
        with outside_bodies(op), op.location:
            c = float_constant(r, op.results[0].type)
        with ir.InsertionPoint(op), op.location:
            rewriter.replace_op(op, arith.MulFOp(a, c))
        return True
    return False


REWRITES = [(name, canonical_sign) for name in ("arith.mulf", "arith.subf", "arith.divf")]
