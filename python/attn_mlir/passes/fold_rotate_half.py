"""attn-fold-rotate-half: rotary embedding's rotate_half, folded or fused.

rotate_half(t) = concat(-t[..., D/2:], t[..., :D/2]) along the last axis is a
signed permutation R of t's columns, so for a projection t = x @ W with a
constant W

    rotate_half(x @ W) == x @ (W @ R)

and the rotary embedding t*cos + rotate_half(t)*sin, with cos/sin that do
not vary along the token axis (a decode step at a fixed position), is

    (x@W)*cos + (x@(W@R))*sin == x @ (W*cos + (W@R)*sin)

(a) *Fold*: when the whole rotary expression collapses like this into one
matmul that replaces the projection (no FLOPs added, weights within the
budget), the expression is replaced by `x @ W'`, `W' = W*cos + (W@R)*sin`
(through the head reshapes and transposes; R acts inside each head's block of
columns; with partial rotary the pass-through channels keep their columns).
x @ (W@R) alone would be a whole extra matmul, so the pass never folds
rotate_half without its cos/sin: that is (b)'s job.

(b) *Fuse* otherwise (prefill, where cos/sin vary per token, or cos/sin that
are function arguments): the slices, the negation, the concatenation and the
cos/sin multiply-add become one element-wise `linalg.generic` over t viewed
as [..., 2, D/2] (a `tensor.expand_shape`, no copy) that reads the two halves
through two input maps (`(.., 0, e)` and `(.., 1, e)`) and picks by
`linalg.index`:

    out[.., h, e] = own*cos + (h == 0 ? -(partner*sin) : partner*sin)

so no halves or concatenation are materialised and no FLOPs are added.
Without a surrounding cos/sin multiply-add the same generic computes
rotate_half alone.

rotate_half is matched strictly: a 2-operand `tensor.concat` along the last
axis of (negf(t[..., D/2:]), t[..., :D/2]) with both halves static,
unit-stride slices of the same t, each used only there. The halves not
swapped, a concat along another axis, the wrong slice order, halves of
different sizes or of different tensors, or halves with other users are not
rotate_half and are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, linalg, tensor

from .. import rewrite_log
from ..constants import is_a
from ..attn_ops import create_rotary
from ..match.rotary import RotateHalf, rotation
from .attn_lower import lower_rotary
from ..projections import (NotAProjection, analyze, as_value, elementwise_body, is_identity,
                           producer as _producer)
from ..rewrite_cost import erase_dead, op_flops, users
from ..rewriting import MAX_WEIGHT_GROWTH, Fired, Skip, collapse_projection, rewrite_functions
from . import register_pass

NAME = "attn-fold-rotate-half"


@dataclass
class Rotary:
    """t*cos + rotate_half(t)*sin; each factor is ('tensor', value, map) or ('scalar', value)."""

    add: ir.Operation
    cos_mul: ir.Operation
    sin_mul: ir.Operation
    cos: tuple
    sin: tuple


def _factor(mul: ir.Operation, operand_value: ir.Value):
    """The factor of `mul` other than `operand_value` (read one-to-one), or None."""
    body = elementwise_body(mul)
    if body is None or body[0] != "arith.mulf":
        return None
    _, operands, maps = body
    for this, other in ((0, 1), (1, 0)):
        where, index = operands[this]
        if where != "in" or mul.operands[index] != operand_value or not is_identity(maps[index]):
            continue
        where_f, ref = operands[other]
        if where_f == "outside":
            return ("scalar", ref)
        amap = maps[ref]
        if not all(_is_dim_or_zero(e) for e in amap.results):
            return None
        return ("tensor", mul.operands[ref], amap)
    return None


def _is_dim_or_zero(expr) -> bool:
    return is_a(expr, ir.AffineDimExpr) or (is_a(expr, ir.AffineConstantExpr)
                                            and ir.AffineConstantExpr(expr).value == 0)


def match_rotary(rh: RotateHalf) -> Rotary | None:
    concat_users = users(rh.root.results[0])
    if len(concat_users) != 1:
        return None
    sin_mul = concat_users[0]
    sin = _factor(sin_mul, rh.root.results[0])
    if sin is None:
        return None
    sin_users = users(sin_mul.results[0])
    if len(sin_users) != 1:
        return None
    add = sin_users[0]
    body = elementwise_body(add)
    if body is None or body[0] != "arith.addf" or not all(
            w == "in" and is_identity(body[2][i]) for w, i in body[1]):
        return None
    others = [v for v in add.operands[:-1] if v != sin_mul.results[0]]
    if len(others) != 1:
        return None
    cos_mul = _producer(others[0])
    if cos_mul is None or users(cos_mul.results[0]) != [add]:
        return None
    cos = _factor(cos_mul, rh.source)
    if cos is None:
        return None
    return Rotary(add, cos_mul, sin_mul, cos, sin)


ROOTS = ("tensor.concat", "tensor.insert_slice", "tensor.collapse_shape")


def fold_rotate_half_rewrite(concat, budget, rewriter):
    rh = rotation(concat)
    if rh is None:
        return None
    if isinstance(rh, str):
        return Skip(concat, f"not rotate_half: {rh}")
    rotary = match_rotary(rh)
    reason = "no cos/sin multiply-add around rotate_half"
    if rotary is not None:
        outcome, reason = _fold_into_weights(rotary, budget, rewriter)
        if outcome is not None:
            return outcome
    return _fuse(rh, rotary, reason, rewriter)


def _fold_into_weights(rotary: Rotary, budget, rewriter):
    """(a): the rotary expression, or the partial-rotary concat around it, as one matmul."""
    roots = [rotary.add]
    add_users = users(rotary.add.results[0])
    if len(add_users) == 1 and add_users[0].name == "tensor.concat":
        roots.insert(0, add_users[0])  # partial rotary: rotated ++ pass-through channels
    reason = ""
    for root in roots:
        try:
            p = analyze(root.results[0])
        except NotAProjection as e:
            reason = str(e)
            continue
        outcome = collapse_projection(NAME, root, p, budget,
                                      "rotary embedding folded into the projection weights",
                                      rewriter)
        if isinstance(outcome, Fired):
            return outcome, ""
        if outcome.remark:  # the budget blocked the fold: say so, then fuse instead
            rewrite_log.skipped(NAME, outcome.op, outcome.reason, remark=True)
            return None, "weight budget"
        reason = outcome.reason
    return None, reason


# --- (b) the fused element-wise generic -------------------------------------

def _expand_last(value: ir.Value, half: int) -> ir.Value:
    """[..., 2*half] -> [..., 2, half] (a reshape, no copy)."""
    t = ir.RankedTensorType(value.type)
    shape = list(t.shape)
    rank = len(shape)
    new_shape = shape[:-1] + [2, half]
    groups = [[i] for i in range(rank - 1)] + [[rank - 1, rank]]
    i64 = ir.IntegerType.get_signless(64)
    reassociation = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, g) for g in grp])
                                      for grp in groups])
    return as_value(tensor.expand_shape(ir.RankedTensorType.get(new_shape, t.element_type), value,
                                        reassociation, output_shape=[],
                                        static_output_shape=new_shape))


def _half_view(halves: ir.Value, which: int) -> ir.Value:
    """halves[.., which:which+1, :] of a [.., 2, half] tensor (a view, no copy)."""
    t = ir.RankedTensorType(halves.type)
    shape = list(t.shape)
    sizes = shape[:-2] + [1, shape[-1]]
    offsets = [0] * (len(shape) - 2) + [which, 0]
    return tensor.ExtractSliceOp(ir.RankedTensorType.get(sizes, t.element_type), halves, [], [], [],
                                 offsets, sizes, [1] * len(shape)).result


def _factor_operand(factor, rank: int, half: int, create: bool = True):
    """A cos/sin factor as (value or None, map on the [.., 2, half] domain, scalar or None).
    With create=False only checks that it can be read (nothing is built)."""
    if factor[0] == "scalar":
        return None, None, factor[1]
    _, value, amap = factor
    shape = list(ir.RankedTensorType(value.type).shape)
    exprs, split_at = [], None
    for pos, expr in enumerate(amap.results):
        if is_a(expr, ir.AffineDimExpr):
            d = ir.AffineDimExpr(expr).position
            if d == rank - 1:
                if shape[pos] != 2 * half or pos != len(shape) - 1:
                    return None
                split_at = pos
                exprs += [ir.AffineDimExpr.get(rank - 1), ir.AffineDimExpr.get(rank)]
            else:
                exprs.append(ir.AffineDimExpr.get(d))
        else:
            exprs.append(ir.AffineConstantExpr.get(0))
    if split_at is None and shape and shape[-1] != 1:
        return None
    if split_at is not None and create:
        value = _expand_last(value, half)
    return value, ir.AffineMap.get(rank + 1, 0, exprs), None


def _owner(owner) -> ir.Operation:
    return owner.operation if hasattr(owner, "operation") else owner


def _kernel_tables(rotary: Rotary, rank: int) -> tuple[ir.Value, ir.Value] | None:
    """cos and sin when both are tables read numpy-style (trailing dims aligned, 0 only
    on size-1 dims, the last dim the channels): what attn.rotary takes as operands."""
    values = []
    for factor in (rotary.cos, rotary.sin):
        if factor[0] != "tensor":
            return None
        _, value, amap = factor
        shape = list(ir.RankedTensorType(value.type).shape)
        m = len(shape)
        if m == 0 or m > rank:
            return None
        for k, expr in enumerate(amap.results):
            if is_a(expr, ir.AffineDimExpr) and ir.AffineDimExpr(expr).position == rank - m + k:
                continue
            if is_a(expr, ir.AffineConstantExpr) and ir.AffineConstantExpr(expr).value == 0 \
                    and shape[k] == 1 and k != m - 1:
                continue
            return None
        values.append(value)
    if values[0].type != values[1].type:
        return None
    return values[0], values[1]


def _fuse_as_kernel(rh: RotateHalf, rotary: Rotary, tables, removed, old_flops: int,
                    why_not_folded: str, rewriter):
    """The rotary expression as the attn.rotary kernel's linalg form (one generic over
    the pairs, both halves inserted into a fresh tensor): the form `attn-lower` emits,
    which `attn-raise` recognises again and the cpu lowering runs fastest."""
    root = rotary.add
    with ir.InsertionPoint(root), root.location:
        op = create_rotary(rh.source, *tables, style=rh.style, rotary_dim=2 * rh.half)
    rewriter.replace_op(root, [op.results[0]])
    use = next(iter(op.results[0].uses))
    consumer, index = _owner(use.owner), use.operand_number
    lower_rotary(op)  # the driver never saw op: it may go without the rewriter
    erase_dead([o for o in reversed(removed) if o.operation != root.operation], rewriter)
    last_insert = _producer(consumer.operands[index])
    generic = _producer(last_insert.operands[0])
    message = "rotary embedding fused into the rotary kernel's element-wise generic"
    if why_not_folded:
        message += f" (not folded into the weights: {why_not_folded})"
    rewrite_log.fired(NAME, generic, message, flops_saved=old_flops - op_flops(generic))
    return Fired()


def _fuse(rh: RotateHalf, rotary: Rotary | None, why_not_folded: str, rewriter):
    t = rh.source
    t_type = ir.RankedTensorType(t.type)
    rank, half, et = t_type.rank, rh.half, t_type.element_type
    root = rotary.add if rotary is not None else rh.root
    removed = list(rh.ops)
    if rotary is not None:
        removed += [rotary.sin_mul, rotary.cos_mul, rotary.add]
    old_flops = sum(op_flops(o) for o in removed)
    tables = _kernel_tables(rotary, rank) if rotary is not None else None
    if tables is not None:
        outcome = _fuse_as_kernel(rh, rotary, tables, removed, old_flops, why_not_folded,
                                  rewriter)
        if outcome is not None:
            return outcome
    if rh.style != "half":
        return Skip(root, "interleaved rotary without cos/sin tables read numpy-style "
                          "is not fused")
    if rotary is not None and any(_factor_operand(f, rank, half, create=False) is None
                                  for f in (rotary.cos, rotary.sin)):
        return Skip(root, "cos/sin read through an unsupported map")
    with ir.InsertionPoint(root), root.location:
        factors = []
        if rotary is not None:
            factors = [_factor_operand(f, rank, half) for f in (rotary.cos, rotary.sin)]
        halves = _expand_last(t, half)
        low, high = (_half_view(halves, which) for which in (0, 1))
        dims = [ir.AffineDimExpr.get(i) for i in range(rank + 1)]
        # Both halves are views [.., 1, half] read through the broadcast map (.., 0, e):
        # a projected permutation, which the vectoriser takes (a constant 1 it does not).
        broadcast = ir.AffineMap.get(rank + 1, 0, dims[:-2] + [ir.AffineConstantExpr.get(0),
                                                              dims[-1]])
        identity = ir.AffineMap.get_identity(rank + 1)
        inputs, maps = [low, high], [broadcast, broadcast]
        for value, amap, _ in factors:
            if value is not None:
                inputs.append(value)
                maps.append(amap)
        out_shape = list(t_type.shape[:-1]) + [2, half]
        empty = tensor.EmptyOp(out_shape, et).result
        maps.append(identity)
        generic = linalg.GenericOp(
            [ir.RankedTensorType.get(out_shape, et)], inputs, [empty],
            ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
            ir.Attribute.parse("[" + ", ".join(["#linalg.iterator_type<parallel>"] * (rank + 1)) + "]"))
        block = generic.regions[0].blocks.append(*([et] * (len(inputs) + 1)))
        with ir.InsertionPoint(block):
            args = list(block.arguments)
            x1, x2 = args[0], args[1]
            h = linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), rank - 1)).result
            zero = arith.ConstantOp(ir.IndexType.get(), 0).result
            is_first = arith.CmpIOp(arith.CmpIPredicate.eq, h, zero).result
            own = arith.SelectOp(is_first, x1, x2).result
            partner = arith.SelectOp(is_first, x2, x1).result
            if rotary is None:
                negated = arith.NegFOp(partner).result
                result = arith.SelectOp(is_first, negated, partner).result
            else:
                next_arg = 2
                values = []
                for value, _, scalar in factors:
                    if value is not None:
                        values.append(args[next_arg])
                        next_arg += 1
                    else:
                        values.append(scalar)
                cos, sin = values
                scaled_own = arith.MulFOp(own, cos).result
                scaled_partner = arith.MulFOp(partner, sin).result
                negated = arith.NegFOp(scaled_partner).result
                signed = arith.SelectOp(is_first, negated, scaled_partner).result
                result = arith.AddFOp(scaled_own, signed).result
            linalg.YieldOp([result])
        new_flops = op_flops(generic)
        if new_flops > old_flops:
            rewriter.erase_op(generic.operation)
            views = [_producer(v) for v in inputs if _producer(v) is not None]
            erase_dead(views + [_producer(v.operands[0]) for v in views
                                if v.name == "tensor.extract_slice"] + [_producer(empty)],
                       rewriter)
            return Skip(root, f"fusion would add FLOPs ({new_flops} > {old_flops})")
        groups = [[i] for i in range(rank - 1)] + [[rank - 1, rank]]
        i64 = ir.IntegerType.get_signless(64)
        reassociation = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, g) for g in grp])
                                          for grp in groups])
        fused = as_value(tensor.collapse_shape(root.results[0].type, generic.result, reassociation))
    rewriter.replace_op(root, [fused])
    erase_dead([o for o in reversed(removed) if o.operation != root.operation], rewriter)
    message = ("rotary embedding fused into one element-wise generic" if rotary is not None
               else "rotate_half fused into one element-wise generic")
    if why_not_folded:
        message += f" (not folded into the weights: {why_not_folded})"
    rewrite_log.fired(NAME, generic, message, flops_saved=old_flops - new_flops)
    return Fired()


@register_pass(NAME, summary="Fold rotary rotate_half into the projection weights (fixed position) "
                             "or fuse it into one element-wise generic.",
               options=(MAX_WEIGHT_GROWTH,))
def fold_rotate_half(op, max_weight_growth=1.0):
    """t*cos + rotate_half(t)*sin with t = x@W: folded to x@(W*cos + (W@R)*sin) when cos/sin
    are constants that do not vary along the token axis, the projection dies with it, no
    FLOPs are added and the weights fit the budget; otherwise fused into one element-wise
    generic reading both halves of t (no halves or concatenation materialised, no FLOPs
    added). Only a strict rotate_half matches (see the module docstring)."""
    rewrite_functions(op, NAME, ROOTS, lambda _: True, fold_rotate_half_rewrite,
                      max_weight_growth)
