"""The mask operand and attributes of attn.sdpa from a matched score bias.

    bias = sum(additive leaves) + (0 where half planes and boolean leaves hold, else -inf)

Half planes over the query/key dims become `causal` / `window` attributes
(never a tensor). The leaves, tensors the program already holds (a padding or
attention-mask argument, a relative-position bias, a constant mask), are
combined by one elementwise generic into an additive f32 mask whose shape is
the broadcast of the leaves' shapes (no seq x seq tensor is built unless a
leaf already is one), then reshaped to the rank of the raised op.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor

from ..attn_ops import Sdpa
from ..const_eval import evaluate
from ..match.masks import Bias, Leaf, window_of


@dataclass
class MaskPlan:
    mask: ir.Value | None
    causal: bool
    window: int | None


def supports_window() -> bool:
    """Whether attn.sdpa (its view, verifier and lowering) knows the window attribute."""
    return hasattr(Sdpa, "window")


def _leaf_reads(leaf: Leaf, n: int) -> bool:
    shape = ir.RankedTensorType(leaf.value.type).shape
    return all(d is None and s == 1 or d is not None and d < n for d, s in zip(leaf.dims, shape))


def _trailing_layout(leaf: Leaf, n: int) -> bool:
    """The leaf's coordinate k reads score dim n - rank + k, or is a size-1 broadcast."""
    shape = ir.RankedTensorType(leaf.value.type).shape
    m = len(shape)
    return all(d == n - m + k or d is None and shape[k] == 1 for k, d in enumerate(leaf.dims))


def _is_causal_constant(leaf: Leaf, row: int, col: int, sq: int, skv: int) -> bool:
    """A constant additive leaf over (query, key) that is 0 on/below the aligned diagonal, -inf above."""
    if set(d for d in leaf.dims if d is not None) != {row, col}:
        return False
    order = [d for d in leaf.dims if d is not None]
    if order != [row, col]:
        return False
    array = evaluate(leaf.value)
    if array is None or array.size != sq * skv:
        return False
    array = np.asarray(array, np.float64).reshape(sq, skv)
    keep = np.tril(np.ones((sq, skv), bool), k=skv - sq)
    return bool(np.all(array[keep] == 0.0) and np.all(array[~keep] <= -1e30))


def plan_mask(bias: Bias, domain: list[int], sq: int, skv: int, out_rank: int,
              element_type) -> MaskPlan | str:
    """The attributes and (built at the insertion point) mask operand, or a skip reason."""
    n = len(domain)
    row, col = n - 2, n - 1
    if domain[row] != sq or domain[col] != skv:
        return "the mask is read in a loop domain that is not [.., Sq, Skv]"
    w = window_of(bias.half_planes, row, col, sq, skv)
    if w is None:
        return "the index-built mask is neither causal nor a sliding window"
    if w.window is not None and not supports_window():
        return "a sliding-window mask needs attn.sdpa's window attribute"
    additive = list(bias.additive)
    causal = w.causal
    if len(additive) == 1 and not bias.bool_leaves and not causal and w.window is None \
            and _is_causal_constant(additive[0], row, col, sq, skv):
        additive, causal = [], True
    leaves = additive + list(bias.bool_leaves)
    if not leaves:
        return MaskPlan(None, causal, w.window)
    if not all(_leaf_reads(leaf, n) for leaf in leaves):
        return "a mask tensor is read with a non-broadcast map"
    for leaf in additive:
        if ir.RankedTensorType(leaf.value.type).element_type != element_type:
            return "the additive mask has another element type than the scores"
    read = {d for leaf in leaves for d in leaf.dims if d is not None}
    shape = [domain[k] if k in read else 1 for k in range(n)]
    if any(s != 1 for s in shape[:row]):
        shape[:row] = domain[:row]  # varies along batch/head: read it over all of them
    if len(leaves) == 1 and additive and _trailing_layout(leaves[0], n):
        value = leaves[0].value  # already laid out as the scores' trailing dims: use it as is
        v_shape = list(ir.RankedTensorType(value.type).shape)
        if len(v_shape) < out_rank or not any(s != 1 for s in v_shape[:-2]):
            return MaskPlan(_to_rank(value, v_shape, out_rank), causal, w.window)
    if n < out_rank and any(s != 1 for s in shape[:row]):
        return "the mask varies along batch/head dims the raised op has more of"
    mask = _combine(leaves, additive, shape, element_type)
    return MaskPlan(_to_rank(mask, shape, out_rank), causal, w.window)


def _combine(leaves, additive, shape, element_type):
    """One generic over `shape`: sum(additive) + select(and(bool leaves), 0, -inf)."""
    n = len(shape)
    maps = []
    for leaf in leaves:
        exprs = [ir.AffineDimExpr.get(d) if d is not None else ir.AffineConstantExpr.get(0)
                 for d in leaf.dims]
        maps.append(ir.AffineMap.get(n, 0, exprs))
    maps.append(ir.AffineMap.get_identity(n))
    out_type = ir.RankedTensorType.get(shape, element_type)
    empty = tensor.empty(shape, element_type)
    op = linalg.GenericOp([out_type], [leaf.value for leaf in leaves], [empty],
                          ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
                          ir.ArrayAttr.get([ir.Attribute.parse("#linalg.iterator_type<parallel>")] * n))
    types = [ir.RankedTensorType(leaf.value.type).element_type for leaf in leaves]
    block = op.regions[0].blocks.append(*types, element_type)
    with ir.InsertionPoint(block):
        acc = None
        for k, leaf in enumerate(additive):
            arg = block.arguments[k]
            acc = arg if acc is None else arith.addf(acc, arg)
        cond = None
        for k in range(len(additive), len(leaves)):
            c = block.arguments[k]
            if leaves[k].negated:
                c = arith.xori(c, arith.constant(ir.IntegerType.get_signless(1), 1))
            cond = c if cond is None else arith.andi(cond, c)
        if cond is not None:
            zero = arith.constant(element_type, 0.0)
            ninf = arith.constant(element_type, -math.inf)
            masked = arith.select(cond, zero, ninf)
            acc = masked if acc is None else arith.addf(acc, masked)
        linalg.YieldOp([acc])
    return op.results[0]


def _to_rank(mask, shape, out_rank):
    """Reshape a mask over the score domain to the raised op's rank (leading dims merged)."""
    n = len(shape)
    element = ir.RankedTensorType(mask.type).element_type
    if n == out_rank:
        return mask
    if n > out_rank:
        lead = n - out_rank + 1
        groups = [list(range(lead))] + [[k] for k in range(lead, n)]
        new = [math.prod(shape[:lead])] + shape[lead:]
        return tensor.collapse_shape(ir.RankedTensorType.get(new, element), mask, groups)
    return mask  # a lower-rank mask broadcasts over the leading dims (numpy rules)
