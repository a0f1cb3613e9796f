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

from ..ir_utils import walk_ops
from .scalars import _FLOATS, float_constant, outside_bodies, scalar_value


def _replace(op, new: ir.Value) -> None:
    op.results[0].replace_all_uses_with(new)
    op.erase()


def _reciprocal(c: float, float_type) -> float | None:
    if c == 0.0 or not math.isfinite(c):
        return None
    dtype = _FLOATS[str(float_type)]
    r = dtype(1.0) / dtype(c)
    if not np.isfinite(r) or abs(float(r)) < np.finfo(dtype).tiny:
        return None
    return float(r)


def canonical_signs(func) -> int:
    done = 0
    for op in walk_ops(func):
        if len(op.results) != 1 or str(op.results[0].type) not in _FLOATS:
            continue
        a, b = (op.operands[0], op.operands[1]) if len(op.operands) == 2 else (None, None)
        if a is None:
            continue
        if op.name == "arith.mulf":
            x = b if scalar_value(a) == -1.0 else a if scalar_value(b) == -1.0 else None
            if x is not None:
                with ir.InsertionPoint(op), op.location:
                    _replace(op, arith.NegFOp(x).result)
                done += 1
        elif op.name == "arith.subf" and scalar_value(a) == 0.0 and scalar_value(b) is None:
            with ir.InsertionPoint(op), op.location:
                _replace(op, arith.NegFOp(b).result)
            done += 1
        elif op.name == "arith.divf" and scalar_value(b) is not None and scalar_value(a) is None:
            r = _reciprocal(scalar_value(b), op.results[0].type)
            if r is not None:
                with outside_bodies(op), op.location:
                    c = float_constant(r, op.results[0].type)
                with ir.InsertionPoint(op), op.location:
                    _replace(op, arith.MulFOp(a, c).result)
                done += 1
    return done
