"""attn-merge-adds: merge sums of products that share an operand.

    y*c1 + y*c2  ==  y*(c1 + c2)          (c1, c2 constants)
    x@A + x@B    ==  x@(A + B)            (A, B constant weights)

The second is horizontal fusion of fully-connected layers that read the same
input; it is what a fixed-position rotary embedding leaves behind once its
factors are in the weights. Both sides may be seen through the same head
reshapes/transposes (the sum is taken per element, so the two sides must index
the same rows of `x`; their columns are paired up, one new weight column per
pair). `x@A - x@B` merges likewise.

Legality:
* `y*c1 + y*c2`: both products read the same value `y` through the same map,
  `c1` and `c2` are constants read through the same map (or scalars captured
  by the bodies), and each product is used only by the sum;
* `x@A + x@B`: both sides are projections of the same `x` by constant
  weights, every intermediate result is used only by the sum, and the merged
  matmul does not do more FLOPs than the two it replaces;
* the new constants fit the weight budget (`max-weight-growth`).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from .. import rewrite_log
from ..constants import constant_array, create_weight
from ..projections import NotAProjection, analyze, elementwise_body, projection_or_none
from ..rewrite_cost import constant_bytes_of, dying_ops, erase_dead, op_flops, users
from ..rewriting import MAX_WEIGHT_GROWTH, Fired, Skip, collapse_projection, rewrite_functions
from . import register_pass

NAME = "attn-merge-adds"


def _is_candidate(g):
    return ((body := elementwise_body(g)) is not None
            and body[0] in ("arith.addf", "arith.subf")
            and all(where == "in" for where, _ in body[1]))


def merge_adds_rewrite(op, budget, rewriter):
    outcome = _merge_common_factor(op, budget, rewriter)
    if outcome is not None:
        return outcome
    return _merge_projections(op, budget, rewriter)


def _merge_projections(op, budget, rewriter):
    sides = [projection_or_none(value) for value in op.operands[:-1]]
    if None in sides:
        return None
    if sides[0].x != sides[1].x:
        return Skip(op, "the two projections read different inputs")
    try:
        p = analyze(op.results[0])
    except NotAProjection as e:
        return Skip(op, str(e))
    return collapse_projection(NAME, op, p, budget, "sum of projections of one input merged "
                                                    "into one matmul", rewriter)


def _product(value):
    """(generic op, operand index of y, y map, factor array or None, factor map, factor value)
    for `y * c` with c constant; None otherwise."""
    owner = value.owner
    if not isinstance(owner, (ir.OpView, ir.Operation)):
        return None
    op = owner.operation
    body = elementwise_body(op)
    if body is None or body[0] != "arith.mulf":
        return None
    _, operands, maps = body
    for this, other in ((0, 1), (1, 0)):
        where_y, y_index = operands[this]
        if where_y != "in":
            continue
        where_c, ref = operands[other]
        if where_c == "outside":
            array = constant_array(ref)
            if array is not None and array.size == 1:
                return op, y_index, maps[y_index], array, None, ref
        else:
            array = constant_array(op.operands[ref])
            if array is not None:
                return op, y_index, maps[y_index], array, maps[ref], op.operands[ref]
    return None


def _merge_common_factor(op, budget, rewriter):
    kind = elementwise_body(op)[0]
    a, b = (_product(v) for v in op.operands[:2])
    if a is None or b is None:
        return None
    (mul_a, ya, map_ya, ca, cmap_a, cval_a), (mul_b, yb, map_yb, cb, cmap_b, cval_b) = a, b
    if mul_a.operands[ya] != mul_b.operands[yb] or map_ya != map_yb:
        return None  # not the same y: maybe x@A + x@B
    if any(u != op for m in (mul_a, mul_b) for u in users(m.results[0])):
        return Skip(op, "a product has other users")
    if (cmap_a is None) != (cmap_b is None) or (cmap_a is not None and
                                                 (cmap_a != cmap_b or ca.shape != cb.shape)):
        return Skip(op, "the constant factors are broadcast differently")
    merged = ca - cb if kind == "arith.subf" else ca + cb
    # The factors' producers die unless something else reads them.
    dying = dying_ops([op, mul_a, mul_b], [cval_a.owner, cval_b.owner])
    freed = sum(constant_bytes_of(o) for o in dying)
    new_bytes = merged.nbytes if cmap_a is not None else 0
    delta = new_bytes - freed
    if not budget.allows(delta):
        return Skip(op, f"merging constant factors skipped: {budget.describe(delta)}", remark=True)
    saved = op_flops(op) + op_flops(mul_b)
    with ir.InsertionPoint(mul_a), mul_a.location:
        if cmap_a is None:
            et = cval_a.type
            new_c = arith.ConstantOp(et, ir.FloatAttr.get(et, float(merged.reshape(-1)[0]))).result
            body = mul_a.regions[0].blocks[0]
            inner = list(body.operations)[0].operation
            for i, v in enumerate(inner.operands):
                if v == cval_a:
                    inner.operands[i] = new_c
        else:
            new_c = create_weight(merged.astype(ca.dtype), cval_a.type)
            index = [i for i, v in enumerate(mul_a.operands) if v == cval_a and i != ya][0]
            mul_a.operands[index] = new_c
    rewriter.replace_op(op, [mul_a.results[0]])
    erase_dead([mul_b, cval_a.owner, cval_b.owner], rewriter)
    rewrite_log.fired(NAME, mul_a, "y*c1 + y*c2 merged into y*(c1+c2)", flops_saved=saved,
                      constant_bytes_delta=delta)
    return Fired()


@register_pass(NAME, summary="Merge y*c1 + y*c2 into y*(c1+c2) and x@A + x@B into x@(A+B).",
               options=(MAX_WEIGHT_GROWTH,))
def merge_adds(op, max_weight_growth=1.0):
    """y*c1 + y*c2 -> y*(c1+c2) (same y and map, constant factors broadcast alike, products
    used only by the sum) and x@A + x@B -> x@(A+B) (same x and token rows, constant
    weights, no FLOPs added, new constants within the budget)."""
    rewrite_functions(op, NAME, ("linalg.generic",), _is_candidate, merge_adds_rewrite,
                      max_weight_growth)
