"""Shared driver for the rewrites of attn-optimize (weight folding, fusion, transposes).

`rewrite_functions` runs a rewrite on the `mlir.rewrite` greedy driver
(`attn_mlir.greedy`), one function at a time with one weight budget, offering
the ops in program order (producers before users), until no candidate op fires.
A rewrite replaces and erases ops only through the driver's `PatternRewriter`
(and erases the dead constants it frees at once, so that the next budget check
counts them out). Skips (legality or budget checks that blocked a candidate) are
logged once: the fixed point is offered to the rewrite one more time, and what
it declines then is what stays unrewritten.

`collapse_projection` is the one rewrite that replaces a value by a single
`x @ W'` (see `projections`): it checks that the whole expression dies, that
no FLOPs are added, that no matmul is added, and the weight budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from mlir import ir

from . import greedy, rewrite_log
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


def rewrite_functions(op: ir.Operation, pass_name: str, roots: tuple[str, ...],
                      is_candidate: Callable, rewrite: Callable,
                      max_weight_growth: float = 1.0) -> int:
    """Run `rewrite(candidate, budget, rewriter)` (Fired, a Skip, or None: not a
    candidate) on the ops named in `roots` for which `is_candidate(op)` holds."""
    total = 0
    for func in function_ops(op):
        if len(func.regions[0].blocks) == 0:
            continue
        budget = WeightBudget(func, max_weight_growth)

        def run(report: bool) -> int:
            def pattern(candidate, rewriter) -> bool:
                if not is_candidate(candidate):
                    return False
                outcome = rewrite(candidate, budget, rewriter)
                if report and isinstance(outcome, Skip):
                    rewrite_log.skipped(pass_name, outcome.op, outcome.reason,
                                        remark=outcome.remark)
                return isinstance(outcome, Fired)
            return greedy.apply(func, [(name, pattern) for name in roots], top_down=True)

        total += run(report=False)
        total += run(report=True)  # fires nothing at the fixed point: one offer each
    return total


def collapse_projection(pass_name: str, root: ir.Operation, p: Projection,
                        budget: WeightBudget, what: str, rewriter):
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
    rest = [o for o in list(reversed(p.ops)) + list(p.sources) if o.operation != root.operation]
    rewriter.replace_op(root, [new_value])
    erase_dead(rest, rewriter)
    rewrite_log.fired(pass_name, new_value.owner, what, flops_saved=old_flops - new_flops,
                      constant_bytes_delta=delta)
    return Fired()

