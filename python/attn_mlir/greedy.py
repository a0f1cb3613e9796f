"""Rewrites run by the `mlir.rewrite` greedy driver.

A rewrite is `rewrite(op, rewriter) -> bool`, registered for the name of the op
it is rooted at. It returns True when it changed the IR, and then it has
replaced or erased `op` through `rewriter` (the driver's PatternRewriter), never
with `op.erase()` or `replace_all_uses_with`, which the driver would not see and
whose erased ops it could still visit. New ops are built with the Python builders
at any insertion point (the driver does not revisit them). When it returns False
it must not have changed the IR.

`apply(root, rewrites)` runs the driver on the ops nested in `root` (bodies
included) until no rewrite applies. It erases dead ops (no uses, no side
effects: a replaced chain's producers, and any the input already had) and does
not fold, CSE constants or simplify regions, so only the rewrites change what
the IR computes.
"""

from __future__ import annotations

from typing import Callable, Iterable

import mlir.rewrite as rw
from mlir import ir

Rewrite = Callable[[ir.Operation, rw.PatternRewriter], bool]


def _config(top_down: bool) -> rw.GreedyRewriteConfig:
    config = rw.GreedyRewriteConfig()
    config.use_top_down_traversal = top_down
    config.enable_folding = False
    config.enable_constant_cse = False
    config.region_simplification_level = rw.GreedySimplifyRegionLevel.DISABLED
    return config


def apply(root: ir.Operation, rewrites: Iterable[tuple[str, Rewrite]],
          top_down: bool = False) -> int:
    """Apply `rewrites` ((root op name, rewrite) pairs) under `root` to a fixed point;
    returns how many rewrites changed the IR. Each round offers the ops last to first
    (users before producers), or first to last with `top_down`."""
    changes = 0

    def pattern(rewrite: Rewrite):
        def match_and_rewrite(op, rewriter):
            nonlocal changes
            if not rewrite(op.operation, rewriter):
                return True  # the driver's convention: a truthy result means no match
            changes += 1
            return False
        return match_and_rewrite

    patterns = rw.RewritePatternSet()
    for name, rewrite in rewrites:
        patterns.add(name, pattern(rewrite))
    rw.apply_patterns_and_fold_greedily(root, patterns.freeze(), _config(top_down))
    return changes
