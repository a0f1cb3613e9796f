"""Shared driver for the weight-folding rewrites.

`rewrite_functions` visits every function, offers each candidate op to a
rewrite, and starts over after each rewrite that fired (erased ops must not be
touched again), until a whole walk fires nothing. Skips (legality or budget
checks that blocked a candidate) are logged once, from that last walk.

`collapse_projection` is the one rewrite that replaces a value by a single
`x @ W'` (see `projections`): it checks that the whole expression dies, that
no FLOPs are added, that no matmul is added, and the weight budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from mlir import ir

from . import rewrite_log
from .constants import numpy_dtype
from .ir_utils import walk_ops
from .passes import Option
from .projections import (NotAProjection, Projection, check_dies, layout, materialize,
                          projection_flops)
from .rewrite_cost import WeightBudget, constant_bytes_of, dying_ops, erase_dead

MAX_WEIGHT_GROWTH = Option("max-weight-growth", float, 1.0,
                           "total constant bytes may grow at most to this factor "
                           "(1.0: no growth)")


@dataclass
class Skip:
    op: ir.Operation
    reason: str
    remark: bool = False


class Fired:
    """Returned by a rewrite that changed the IR."""


def function_ops(op: ir.Operation) -> list[ir.Operation]:
    if op.name == "func.func":
        return [op]
    return walk_ops(op, "func.func")


def rewrite_functions(op: ir.Operation, pass_name: str, candidates: Callable,
                      rewrite: Callable, max_weight_growth: float = 1.0,
                      max_rewrites: int = 10_000) -> int:
    """`rewrite(candidate, budget)` returns Fired, a Skip, or None (not a candidate)."""
    total = 0
    for func in function_ops(op):
        if len(func.regions[0].blocks) == 0:
            continue
        budget = WeightBudget(func, max_weight_growth)
        for _ in range(max_rewrites):
            skips: list[Skip] = []
            fired = False
            for candidate in candidates(func):
                outcome = rewrite(candidate, budget)
                if isinstance(outcome, Fired):
                    fired = True
                    total += 1
                    break
                if isinstance(outcome, Skip):
                    skips.append(outcome)
            if not fired:
                for skip in skips:
                    rewrite_log.skipped(pass_name, skip.op, skip.reason, remark=skip.remark)
                break
    return total


def collapse_projection(pass_name: str, root: ir.Operation, p: Projection,
                        budget: WeightBudget, what: str):
    """Replace `root`'s result by one `x @ W'` when legal; Fired or a Skip."""
    try:
        check_dies(p, root)
        x_shape = list(ir.RankedTensorType(p.x.type).shape)
        lay = layout(p, x_shape[0])
    except NotAProjection as e:
        return Skip(root, str(e))
    k, c = lay.weights.shape
    new_flops = 2 * lay.rows * k * c
    old_flops = projection_flops(p)
    if new_flops > old_flops:
        return Skip(root, f"would add FLOPs ({new_flops} > {old_flops})")
    if p.matmuls < 1:
        return Skip(root, "no matmul to fold into")
    element_type = ir.RankedTensorType(root.results[0].type).element_type
    dtype = numpy_dtype(element_type)
    if dtype is None:
        return Skip(root, f"unsupported element type {element_type}")
    itemsize = np.dtype(dtype).itemsize
    dying = dying_ops(p.ops, p.sources)
    freed = sum(constant_bytes_of(o) for o in dying)
    delta = k * c * itemsize - freed
    if not budget.allows(delta):
        return Skip(root, f"{what} skipped: {budget.describe(delta)}", remark=True)
    with ir.InsertionPoint(root), root.location:
        new_value = materialize(p, lay, element_type)
    root.results[0].replace_all_uses_with(new_value)
    erase_dead(list(reversed(p.ops)) + list(p.sources))
    rewrite_log.fired(pass_name, new_value.owner, what, flops_saved=old_flops - new_flops,
                      constant_bytes_delta=delta)
    return Fired()

