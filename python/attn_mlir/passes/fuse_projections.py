"""attn-fuse-projections: Q/K/V projections of one input become one matmul.

Algebra:  `x @ W1, x @ W2, ..., x @ Wn  ==  slices of  x @ [W1 | W2 | ... | Wn]`
(columns concatenated; slice i is columns `[N1 + ... + N(i-1), + Ni)` of the
result). Widths may differ (grouped-query attention: Q wider than K and V).
The FLOPs are the same (`2*M*K*sum(Ni)`); the input is read once and one
bigger matmul replaces n small ones.

Legality, per group:
* the matmuls are `linalg.matmul`s in one block with the *same* left operand
  value, read through the default maps `(m,k), (k,n) -> (m,n)` (a left operand
  read transposed has a different contraction dim and is not fused);
* every right operand is a constant `[K, Ni]` (a runtime weight, e.g. a
  function argument, is never concatenated: that would copy it on every call);
* every init is a `linalg.fill` of the same scalar (the fused init is one fill);
* at least two matmuls qualify.

Weights stored `[out, in]` behind `linalg.transpose` (what torch-mlir emits) are
not constants yet: run `attn-fold-transposes` first, which turns them into
constant `[in, out]` weights. The old weight constants are erased when nothing
else uses them; otherwise the concatenated copy grows the module, which is
logged as `constant_bytes_delta`.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import linalg, tensor

from .. import rewrite_log
from ..constants import constant_array, constant_producer, create_weight
from ..ir_utils import in_block_order
from ..linalg_match import (erase_if_dead, nbytes, producer, producer_named, scalar_constant,
                            static_shape, users)
from ..projections import plain_matmul
from ..rewriting import Fired, Skip, rewrite_functions
from . import register_pass

NAME = "attn-fuse-projections"


def _fill_value(matmul: ir.Operation) -> float | None:
    fill = producer_named(matmul.operands[2], "linalg.fill")
    return None if fill is None else scalar_constant(fill.operands[0])


def _fusable(matmul: ir.Operation) -> str | None:
    """Why `matmul` cannot join a fused projection (None if it can)."""
    if plain_matmul(matmul) is None:
        return "it reads an operand through a non-default (transposed) map"
    if constant_producer(matmul.operands[1]) is None:
        return "its right operand is not a constant (runtime weights are not concatenated)"
    shape = static_shape(matmul.results[0])
    if shape is None:
        return "its result shape is not static"
    if 0 in shape:
        return "its result is empty (no slice can start in it)"
    if _fill_value(matmul) is None:
        return "its init is not a fill with a constant"
    return None


def fuse_projections_rewrite(matmul: ir.Operation, budget, rewriter):
    """The fusable matmuls that share `matmul`'s left operand, its block and its init value,
    fused when the first of them is offered: Fired, a Skip or None."""
    lhs = matmul.operands[0]
    siblings: list[ir.Operation] = []
    for user in users(lhs):
        if user.name == "linalg.matmul" and user.operands[0] == lhs and user not in siblings:
            siblings.append(user)
    if len(siblings) < 2:
        return None
    reason = _fusable(matmul)
    if reason is not None:
        return Skip(matmul, f"matmul shares its input but {reason}")
    group = in_block_order([m for m in siblings if m.parent == matmul.parent
                            and _fusable(m) is None and _fill_value(m) == _fill_value(matmul)])
    if len(group) < 2:
        return Skip(matmul, "matmul shares its input but not its block or its init value")
    if group[0] != matmul:
        return None
    return fuse_projection_group(group, rewriter)


def fuse_projection_group(group: list[ir.Operation], rewriter):
    """`x @ Wi == (x @ [W1 | ... | Wn])[:, offset_i : offset_i + Ni]` (the group in block
    order): Fired, or None when a weight cannot be read."""
    arrays = [constant_array(m.operands[1]) for m in group]
    if any(a is None for a in arrays):
        return None
    first, lhs = group[0], group[0].operands[0]
    rows = static_shape(first.results[0])[0]
    widths = [a.shape[1] for a in arrays]
    result_type = ir.RankedTensorType(first.results[0].type)
    element = result_type.element_type
    fill_scalar = producer(first.operands[2]).operands[0]
    with ir.InsertionPoint(first), first.location:
        weights = create_weight(np.concatenate(arrays, axis=1))
        init = linalg.fill(fill_scalar, outs=[tensor.EmptyOp([rows, sum(widths)], element)])
        fused = linalg.matmul(lhs, weights, outs=[init])
        slices = []
        offset = 0
        for width in widths:
            slice_type = ir.RankedTensorType.get([rows, width], element)
            slices.append(tensor.ExtractSliceOp(slice_type, fused, [], [], [], [0, offset],
                                                [rows, width], [1, 1]).result)
            offset += width
    freed = 0
    for matmul, value in zip(group, slices):
        weight_op, fill_op = producer(matmul.operands[1]), producer(matmul.operands[2])
        weight_bytes = nbytes(matmul.operands[1])
        rewriter.replace_op(matmul, [value])
        freed += weight_bytes if erase_if_dead(weight_op, rewriter) else 0
        if fill_op is not None:
            empty = producer(fill_op.operands[1])
            if erase_if_dead(fill_op, rewriter):
                erase_if_dead(empty, rewriter)
    rewrite_log.fired(NAME, fused.owner,
                      f"fused {len(group)} projections (widths {', '.join(map(str, widths))}) "
                      f"of one input into one matmul",
                      constant_bytes_delta=nbytes(weights) - freed)
    return Fired()


@register_pass(NAME, summary="Fuse matmuls that share their input and have constant weights "
                             "into one matmul on concatenated weights.")
def fuse_projections(op: ir.Operation) -> None:
    rewrite_functions(op, NAME, ("linalg.matmul",), lambda _: True, fuse_projections_rewrite)


__all__ = ["fuse_projections"]
