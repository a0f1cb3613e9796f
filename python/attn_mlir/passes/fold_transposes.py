"""attn-fold-transposes: no transposed copy of a weight or of K is ever materialised.

Two rewrites, run on the greedy driver (see `attn_mlir.rewriting`); a transpose
comes before its users, so the first applies before the second would:

1. Constant transpose:  `transpose(C, p)  ==  C'` with `C' = numpy.transpose(C, p)`,
   a new `arith.constant`. Legal for any permutation of any constant. The old
   constant is erased only when nothing else uses it (never edited in place), so
   a constant shared with another op grows the module's constants: the fold
   fires only within `max-weight-growth` (default 1.0: no growth; a skip is a
   remark) and the growth is logged as `constant_bytes_delta`.

2. Transposed matmul operand:  `matmul(A, transpose(B, [1,0]))  ==  matmul(A, B)`
   read through the map `(m, n, k) -> (n, k)` instead of `(k, n)` (the same for
   the left operand and for `batch_matmul` with `[0, 2, 1]`). The 4-D head form
   `collapse_shape(transpose(X, [0, 1, 3, 2]), [[0, 1], [2], [3]])` equals
   `collapse_shape(X)` with its last two dims swapped, so it is read the same way.
   Legal only when the permutation swaps the last two dims and fixes the others
   (for the collapse form: the last two reassociation groups are single dims) and
   the operand's map reads plain loop dims. A transpose that still has other
   users stays for them: the matmul reads the original through its map anyway
   (no extra work, and the copy disappears once its last user does).
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from .. import rewrite_log
from ..constants import constant_array, constant_producer, create_weight
from ..ir_utils import in_block_order
from ..linalg_match import (MATMUL_OPS, dims_of, erase_if_dead, erase_with_init, nbytes,
                            operand_maps, producer, producer_named, set_operand_map, users)
from ..rewrite_cost import WeightBudget
from ..rewriting import MAX_WEIGHT_GROWTH, Fired, Skip, rewrite_functions
from . import register_pass

NAME = "attn-fold-transposes"


def swaps_last_two(permutation: list[int]) -> bool:
    rank = len(permutation)
    return rank >= 2 and permutation == list(range(rank - 2)) + [rank - 1, rank - 2]


def _constant_transpose_group(transpose: ir.Operation) -> list[ir.Operation] | None:
    """The transposes of `transpose`'s constant input by its permutation in its block, in
    block order (one fold for them all); None when its input is not a constant."""
    source = transpose.operands[0]
    if constant_producer(source) is None:
        return None
    permutation = list(transpose.opview.permutation)
    group: list[ir.Operation] = []
    for user in users(source):
        if user.name == "linalg.transpose" and user.operands[0] == source and \
                user.parent == transpose.parent and \
                list(user.opview.permutation) == permutation and user not in group:
            group.append(user)
    return in_block_order(group)


def fold_constant_transposes(transpose: ir.Operation, budget: WeightBudget, rewriter):
    """`transpose(C, p) == numpy.transpose(C, p)` as one new constant for the group of
    `transpose`, rewritten when its first member is offered: Fired, a Skip or None."""
    transposes = _constant_transpose_group(transpose)
    if transposes is None or transposes[0] != transpose:
        return None
    first = transposes[0]
    source = first.operands[0]
    array = constant_array(source)
    if array is None:
        return None
    # C stays alive for its other users: then the folded copy is extra bytes.
    growth = nbytes(first.results[0]) if len(users(source)) > len(transposes) else 0
    if not budget.allows(growth):
        return Skip(first, budget.describe(growth), remark=True)
    permutation = list(first.opview.permutation)
    with ir.InsertionPoint(first), first.location:
        folded = create_weight(np.transpose(array, permutation), first.results[0].type)
    source_bytes = nbytes(source)
    const_op = producer(source)
    for member in transposes:
        init = producer(member.operands[1])
        rewriter.replace_op(member, [folded])
        if init is not None and init.name == "tensor.empty":
            erase_if_dead(init, rewriter)
    freed = source_bytes if erase_if_dead(const_op, rewriter) else 0
    rewrite_log.fired(NAME, folded.owner,
                      f"transpose {permutation} of a constant folded into the constant"
                      + ("" if freed else " (the original stays for its other users)"),
                      constant_bytes_delta=nbytes(folded) - freed)
    return Fired()


def _swapped_collapse(collapse: ir.Operation, source: ir.Value) -> ir.Value:
    """`collapse_shape(source)` with the reassociation of `collapse`, built before it."""
    shape = list(ir.RankedTensorType(collapse.results[0].type).shape)
    shape[-2], shape[-1] = shape[-1], shape[-2]
    element = ir.RankedTensorType(source.type).element_type
    with ir.InsertionPoint(collapse), collapse.location:
        result_type = ir.RankedTensorType.get(shape, element)
        op = ir.Operation.create("tensor.collapse_shape", results=[result_type],
                                 operands=[source], loc=collapse.location,
                                 attributes={"reassociation": collapse.attributes["reassociation"]})
    return op.results[0]


def _last_two_groups_single(collapse: ir.Operation, rank: int) -> bool:
    groups = [[ir.IntegerAttr(d).value for d in g] for g in collapse.opview.reassociation]
    return len(groups) >= 2 and groups[-2] == [rank - 2] and groups[-1] == [rank - 1]


def fold_operand_transpose(matmul: ir.Operation, index: int, rewriter) -> bool | str | None:
    """`matmul(.., transpose(B), ..)` reads `B` through a map with the last two dims
    swapped: True when done, why not (a str) or None when the operand is no transpose."""
    operand = matmul.operands[index]
    dims = dims_of(operand_maps(matmul)[index])
    if dims is None:
        return None
    collapse = producer_named(operand, "tensor.collapse_shape")
    transpose = producer_named(collapse.operands[0] if collapse else operand, "linalg.transpose")
    if transpose is None:
        return None
    permutation = list(transpose.opview.permutation)
    if not swaps_last_two(permutation):
        return f"operand {index} is a transpose {permutation}, not a swap of the last two dims"
    if collapse is not None and not _last_two_groups_single(collapse, len(permutation)):
        return f"operand {index} collapses the transposed dims"
    source = transpose.operands[0]
    new_operand = _swapped_collapse(collapse, source) if collapse is not None else source
    matmul.operands[index] = new_operand
    set_operand_map(matmul, index, dims[:-2] + [dims[-1], dims[-2]])
    erase_if_dead(collapse, rewriter)
    kept = not erase_with_init(transpose, rewriter)
    rewrite_log.fired(NAME, matmul,
                      f"{matmul.name} reads operand {index} through a transposed map"
                      + (" (the transpose stays for its other users)" if kept else ""))
    return True


def fold_operand_transposes(matmul: ir.Operation, rewriter):
    """Both operands of `matmul`: Fired, a Skip or None."""
    outcomes = [fold_operand_transpose(matmul, index, rewriter) for index in (0, 1)]
    if True in outcomes:
        return Fired()
    reasons = [o for o in outcomes if isinstance(o, str)]
    return Skip(matmul, "; ".join(reasons)) if reasons else None


def fold_transposes_rewrite(op: ir.Operation, budget: WeightBudget, rewriter):
    if op.name == "linalg.transpose":
        return fold_constant_transposes(op, budget, rewriter)
    return fold_operand_transposes(op, rewriter)


@register_pass(NAME, summary="Fold constant transposes into constants and transposed matmul "
                             "operands into indexing maps.", options=(MAX_WEIGHT_GROWTH,))
def fold_transposes(op: ir.Operation, max_weight_growth: float = 1.0) -> None:
    rewrite_functions(op, NAME, ("linalg.transpose",) + MATMUL_OPS, lambda _: True,
                      fold_transposes_rewrite, max_weight_growth)


__all__ = ["fold_transposes", "swaps_last_two"]
