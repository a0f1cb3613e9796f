"""Softmax over the last dim, in the spellings attn-normalize leaves.

    P = softmax(X)  =  E / rowsum(E),  E = exp(X - rowmax(X))

`match_softmax(p)` returns X for P: `linalg.softmax` on the last dim, or the
decomposed form (a max reduction with `maximumf`/`maxnumf`, optionally with an
unused argmax result; sub and exp as one generic or two; a zero-initialised
sum; `divf` by the row sum). `match_masked_row_guard(p)` returns (P', X) for
the guard torch emits around SDPA, P = select(all(X == -inf) per row, 0, P').
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import arith

from ..linalg_match import (as_generic, body_pair, elementwise, is_row_broadcast, is_zero_fill,
                            producer, reduction_over_last, single_body_op, static_shape)


def match_softmax(p):
    """The input X of P = softmax(X) over the last dim, or None."""
    op, p_shape = producer(p), static_shape(p)
    if op is None or p_shape is None:
        return None
    rank = len(p_shape)
    if op.name == "linalg.softmax":
        if ir.IntegerAttr(op.attributes["dimension"]).value != rank - 1:
            return None
        return op.operands[0]
    div = elementwise(p)
    body = single_body_op(div, "arith.divf") if div else None
    if body is None:
        return None
    i, j = body_pair(div, body)
    if i is None or j is None or max(i, j) >= len(div.inputs) or not div.is_identity(i) \
            or not is_row_broadcast(div.maps[j], rank, static_shape(div.inputs[j])):
        return None
    e = div.inputs[i]
    total = as_generic(producer(div.inputs[j]))
    if total is None or len(total.inputs) != 1 or total.inputs[0] != e \
            or not reduction_over_last(total, rank) or not is_zero_fill(total.outputs[0]):
        return None
    add = single_body_op(total, "arith.addf")
    if add is None or set(body_pair(total, add)) != {0, 1}:
        return None
    return _match_exp_of_sub(e, rank)


def _match_exp_of_sub(e, rank):
    """X from E = exp(X - rowmax(X)), as one generic or as sub then exp."""
    g = elementwise(e)
    if g is None:
        return None
    body = g.body
    if len(body) == 1 and body[0].name == "math.exp" and g.yielded[0] == body[0].results[0]:
        if g.arg_index(body[0].operands[0]) != 0 or len(g.inputs) != 1 or not g.is_identity(0):
            return None
        g = elementwise(g.inputs[0])
        sub = single_body_op(g, "arith.subf") if g else None
    elif (len(body) == 2 and body[0].name == "arith.subf" and body[1].name == "math.exp"
          and body[1].operands[0] == body[0].results[0] and g.yielded[0] == body[1].results[0]):
        sub = body[0]
    else:
        return None
    if sub is None:
        return None
    i, j = body_pair(g, sub)
    if i is None or j is None or max(i, j) >= len(g.inputs) or not g.is_identity(i) \
            or not is_row_broadcast(g.maps[j], rank, static_shape(g.inputs[j])):
        return None
    x, rowmax = g.inputs[i], g.inputs[j]
    if producer(rowmax) is not None and producer(rowmax).name == "tensor.expand_shape":
        rowmax = producer(rowmax).operands[0]
    mx = as_generic(producer(rowmax))
    if mx is None or len(mx.inputs) != 1 or mx.inputs[0] != x or not reduction_over_last(mx, rank):
        return None
    index = [k for k, r in enumerate(mx.op.results) if r == rowmax]
    if not index:
        return None
    top = producer(mx.yielded[index[0]])
    if top is None or top.name not in ("arith.maximumf", "arith.maxnumf"):
        return None
    if set(body_pair(mx, top)) != {0, 1 + index[0]}:
        return None
    return x


def match_masked_row_guard(p):
    """(P', X) for P = select(all(X == -inf) per row, 0, P'), else None."""
    g = elementwise(p)
    sel = single_body_op(g, "arith.select") if g else None
    if sel is None:
        return None
    c, z, v = (g.arg_index(o) for o in sel.operands)
    if c is None or v is None or g.scalar(sel.operands[1]) != 0.0 or not g.is_identity(v):
        return None
    if static_shape(p) is None or static_shape(g.inputs[c]) is None:
        return None
    rank = len(static_shape(p))
    if not is_row_broadcast(g.maps[c], rank, static_shape(g.inputs[c])):
        return None
    red = as_generic(producer(g.inputs[c]))
    andi = single_body_op(red, "arith.andi") if red else None
    if andi is None or len(red.inputs) != 1 or not reduction_over_last(red, rank):
        return None
    cmp = elementwise(red.inputs[0])
    if cmp is None or len(cmp.inputs) != 1 or not cmp.is_identity(0):
        return None
    last = producer(cmp.yielded[0])
    if last is None or last.name != "arith.cmpf" or \
            ir.IntegerAttr(last.attributes["predicate"]).value != int(arith.CmpFPredicate.OEQ):
        return None
    if -math.inf not in (cmp.scalar(last.operands[0]), cmp.scalar(last.operands[1])):
        return None
    return g.inputs[v], cmp.inputs[0]
