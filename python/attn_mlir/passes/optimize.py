"""attn-optimize: every attention rewrite, with canonicalize and CSE, to a fixed point.

The pipeline inlines `dense_resource` weights (the rewrites do numpy
arithmetic on them), brings every spelling to one form with `attn-normalize`
(when that pass is registered: captured f64 scalars and their casts become one
f32 constant, `/ c` becomes `* (1/c)`, one negation), then repeats one round
until a round fires no rewrite (at most `max-rounds` rounds):

    attn-fold-rotate-half      rotary: fold into the weights at a fixed
                               position, else fuse into one generic
    attn-fold-mul-into-matmul  (x@W)*c -> x@(W*c)
    attn-merge-adds            y*c1 + y*c2 -> y*(c1+c2), x@A + x@B -> x@(A+B)
    attn-fold-score-scale      }
    attn-fold-transposes       } when registered
    attn-fuse-projections      }
    canonicalize, cse          (on each function)

The rotary rewrites run before projection fusion: they need each projection
to be its own matmul. `max-weight-growth` is the budget for the whole
pipeline: the function's constant bytes when it starts, times the factor, is
the most any round may reach; every pass that folds weights receives it.
"""

from __future__ import annotations

from mlir import ir, passmanager

from .. import diagnostics, rewrite_log
from ..check_rewrites import checked
from ..constants import drop_unused_weights
from ..ir_utils import root_op, walk_ops
from ..rewrite_cost import clear_baselines, constant_bytes, set_baselines
from ..rewriting import MAX_WEIGHT_GROWTH
from . import Option, Pass, lookup, register_pass

# Transposes first (they expose constant weights); the score scale before the
# rotary fusion turns rotate_half into selects that it cannot see through.
REWRITES = ("attn-fold-transposes", "attn-fold-score-scale", "attn-fold-rotate-half",
            "attn-fold-mul-into-matmul", "attn-merge-adds", "attn-fuse-projections")
CLEANUP = "canonicalize,cse"
NORMALIZE = "attn-normalize"  # the front stage, once it is registered


class OptimizeRounds(Pass):
    """Runs the rewrites and cleanups in rounds until a round fires no rewrite."""

    name = "attn-optimize-rounds"
    summary = "The fixed-point loop of attn-optimize (use attn-optimize)."
    options = (MAX_WEIGHT_GROWTH,
               Option("max-rounds", int, 8, "most rounds before giving up on a fixed point"))

    def passes(self) -> list[Pass]:
        out = []
        for name in REWRITES:
            cls = lookup(name)
            values = {}
            if any(o.name == "max-weight-growth" for o in cls.options):
                values["max_weight_growth"] = self.max_weight_growth
            out.append(cls(**values))
        return out

    def run(self, op: ir.Operation) -> None:
        functions = walk_ops(op, "func.func") if op.name != "func.func" else [op]
        set_baselines({ir.StringAttr(f.attributes["sym_name"]).value: constant_bytes(f)
                       for f in functions})
        start = len(rewrite_log.current_log.events)
        remarks_start = len(diagnostics.current_remarks.items)
        try:
            passes = self.passes()
            _cleanup(op)  # what canonicalize exposes is there before the first round
            for _ in range(max(1, self.max_rounds)):
                fired_before = _fired_count()
                for p in passes:
                    checked(p, op)  # p.run(op), checked on random inputs if asked
                if _fired_count() == fired_before:
                    break  # a round in which no rewrite fired: the fixed point
                _cleanup(op)
        finally:
            clear_baselines()
        _drop_repeated_skips(start, remarks_start)


def _fired_count() -> int:
    return sum(1 for e in rewrite_log.current_log.events if e.fired)


def _cleanup(op: ir.Operation) -> None:
    functions = walk_ops(op, "func.func") if op.name != "func.func" else [op]
    for func in functions:
        pm = passmanager.PassManager("func.func")
        pm.add(CLEANUP)
        pm.run(func)
    drop_unused_weights(root_op(op))  # weights computed in this round that a later rewrite replaced


def _drop_repeated_skips(start: int, remarks_start: int) -> None:
    """Each round sees the same blocked candidates again: keep one record (and remark) of each."""
    remarks = diagnostics.current_remarks.items
    unique = []
    for r in remarks[remarks_start:]:
        if all((r.message, r.file, r.line, r.col) != (u.message, u.file, u.line, u.col)
               for u in unique):
            unique.append(r)
    remarks[remarks_start:] = unique
    events = rewrite_log.current_log.events
    seen, kept = set(), events[:start]
    for e in events[start:]:
        key = (e.pass_name, e.function, e.fired, e.message, e.location)
        if not e.fired and key in seen:
            continue
        seen.add(key)
        kept.append(e)
    events[:] = kept


@register_pass("attn-optimize", summary="Run all attention rewrites with canonicalize/CSE "
                                        "to a fixed point.",
               options=OptimizeRounds.options)
class AttnOptimize(Pass):
    is_pipeline = True

    def expand(self) -> list:
        from ..pipeline import make_pass

        normalize = [make_pass(NORMALIZE)] if lookup(NORMALIZE) is not None else []
        return ([make_pass("attn-inline-dense-resources")] + normalize
                + [OptimizeRounds(max_weight_growth=self.max_weight_growth,
                                  max_rounds=self.max_rounds)])
