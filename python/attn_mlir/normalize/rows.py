"""One spelling for a row max, a softmax normalisation and compares on widened floats.

    select(cmpf ogt|oge a, b), a, b)    ==>  maximumf a, b   (olt|ole: minimumf)
    mulf e, divf(1, s)                  ==>  divf e, s       (in one body)
    P = e * R, R = generic{1 / s}       ==>  P = e / s       (R read elementwise)
    cmpf p, extf(x), c                  ==>  cmpf p, x, c'   (c exact in x's type)

The select spelling differs from `maximumf` only when an operand is NaN.
`e * (1/s)` and `e / s` differ by at most an ulp. `extf` is exact, so a compare
against a constant that the narrow type holds exactly keeps its result.
Legality for the two-generic form: R is an all-parallel generic with identity
maps whose only body op is `divf 1.0, in`, its input s has R's type, and the
block argument reading R has no other use in P's body.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..linalg_match import elementwise, single_body_op
from .scalars import _FLOATS, float_constant, outside_bodies, scalar_value

_P = arith.CmpFPredicate
_GREATER = (int(_P.OGT), int(_P.OGE), int(_P.UGT), int(_P.UGE))
_LESS = (int(_P.OLT), int(_P.OLE), int(_P.ULT), int(_P.ULE))


def _predicate(op) -> int:
    return ir.IntegerAttr(op.attributes["predicate"]).value


def _def(value):
    return None if isinstance(value, ir.BlockArgument) else value.owner


def _select_to_minmax(op, rewriter) -> bool:
    cmp = _def(op.operands[0])
    if cmp is None or cmp.name != "arith.cmpf" or str(op.results[0].type) not in _FLOATS:
        return False
    a, b = cmp.operands[0], cmp.operands[1]
    t, f = op.operands[1], op.operands[2]
    p = _predicate(cmp)
    if (t, f) == (a, b):
        is_max = p in _GREATER
    elif (t, f) == (b, a):
        is_max = p in _LESS
    else:
        return False
    if p not in _GREATER + _LESS:
        return False
    with ir.InsertionPoint(op), op.location:
        rewriter.replace_op(op, (arith.MaximumFOp if is_max else arith.MinimumFOp)(a, b))
    return True


def _reciprocal_of(value):
    """s for value = divf 1.0, s (in a body), else None."""
    op = _def(value)
    if op is None or op.name != "arith.divf" or scalar_value(op.operands[0]) != 1.0:
        return None
    return op.operands[1]


def _mul_by_reciprocal_in_body(op, rewriter) -> bool:
    for e, r in ((op.operands[0], op.operands[1]), (op.operands[1], op.operands[0])):
        s = _reciprocal_of(r)
        if s is not None:
            with ir.InsertionPoint(op), op.location:
                rewriter.replace_op(op, arith.DivFOp(e, s))
            return True
    return False


def _mul_by_reciprocal_generic(op, rewriter) -> bool:
    """P's body `mulf e, r` with r read from R = 1/s: read s and divide instead."""
    parent = op.parent
    if parent is None or parent.name != "linalg.generic":
        return False
    block = parent.regions[0].blocks[0]
    for e, r in ((op.operands[0], op.operands[1]), (op.operands[1], op.operands[0])):
        if not isinstance(r, ir.BlockArgument) or r.owner != block or len(list(r.uses)) != 1:
            continue
        index = r.arg_number
        if index >= len(parent.operands) - len(parent.results):
            continue
        g = elementwise(parent.operands[index])
        div = single_body_op(g, "arith.divf") if g else None
        if div is None or len(g.inputs) != 1 or not g.is_identity(0) \
                or div.operands[1] != g.block.arguments[0] or g.scalar(div.operands[0]) != 1.0:
            continue
        s = g.inputs[0]
        if s.type != parent.operands[index].type:
            continue
        parent.operands[index] = s  # R is left dead, for the driver to erase
        with ir.InsertionPoint(op), op.location:
            rewriter.replace_op(op, arith.DivFOp(e, r))
        return True
    return False


def _narrow_compare(op, rewriter) -> bool:
    for i in (0, 1):
        ext, c = _def(op.operands[i]), op.operands[1 - i]
        if ext is None or ext.name != "arith.extf" or scalar_value(c) is None:
            continue
        narrow = ext.operands[0].type
        if str(narrow) not in _FLOATS:
            continue
        value = scalar_value(c)
        if float(_FLOATS[str(narrow)](value)) != value and not np.isnan(value):
            continue
        with outside_bodies(op), op.location:
            k = float_constant(value, narrow)
        with ir.InsertionPoint(op), op.location:
            pair = (ext.operands[0], k) if i == 0 else (k, ext.operands[0])
            rewriter.replace_op(op, arith.CmpFOp(_predicate(op), *pair))
        return True
    return False


def _reciprocal_product(op, rewriter) -> bool:
    return _mul_by_reciprocal_in_body(op, rewriter) or _mul_by_reciprocal_generic(op, rewriter)


REWRITES = [("arith.select", _select_to_minmax), ("arith.mulf", _reciprocal_product),
            ("arith.cmpf", _narrow_compare)]
