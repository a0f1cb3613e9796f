"""cos/sin tables computed in the graph from constants become constant tables.

    cos(iota * inv_freq), sin(...)   ==>  arith.constant dense<...>

HF's rotary embedding computes its tables from `arange(seq)` and the
`inv_freq` buffer; with static shapes they do not depend on the inputs. The
table is evaluated in the IR's element types (`const_eval`, f32 rounding per
op) and only when it holds at most `MAX_TABLE_ELEMENTS` elements, so a long
sequence keeps its in-graph computation rather than growing the binary.
Legality: the generic's body applies `math.cos` or `math.sin` and its result
depends on constants only.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from ..const_eval import evaluate
from ..constants import create_constant, numpy_dtype
from ..linalg_match import numel

MAX_TABLE_ELEMENTS = 1 << 16
_TRIG = ("math.cos", "math.sin")


def fold_table(op, rewriter) -> bool:
    """Replace a small generic computing cos/sin from constants by its value."""
    if len(op.results) != 1 or not 0 < numel(op.results[0]) <= MAX_TABLE_ELEMENTS:
        return False
    names = {o.operation.name for o in op.regions[0].blocks[0].operations}
    if not names & set(_TRIG):
        return False
    array = evaluate(op.results[0])
    if array is None:
        return False
    t = ir.RankedTensorType(op.results[0].type)
    dtype = numpy_dtype(t.element_type)
    with ir.InsertionPoint(op), op.location:
        new = create_constant(np.asarray(array, dtype).reshape(t.shape), t)
    rewriter.replace_op(op, [new])
    return True


REWRITES = [("linalg.generic", fold_table)]
