"""attn-raise: recognise attention and rotary embedding in linalg and raise them to attn ops.

    O = softmax(c * Q K^T + bias) V    ==>   O = attn.sdpa(Q, K, V[, M]) {scale, causal, window}
    x * cos + rotate_half(x) * sin     ==>   attn.rotary(x, cos, sin)

Runs attn-normalize first, so that the matchers (attn_mlir.match) see one
spelling per computation; the rewrites live in attn_mlir.raising (sdpa.py for
attention and its masks, rotary.py for rotary embedding). A matmul that looks
like the P V of an attention but is not raised gets a skip record with its
location and the reason. Raising is idempotent: raised ops match nothing.
"""

from __future__ import annotations

import mlir.rewrite as rw
from mlir.dialects import linalg

from ..ir_utils import functions
from ..match.contraction import classify
from ..normalize import normalize
from ..raising import rotary
from ..raising.sdpa import NOT_ATTENTION, raise_attention
from ..rewrite_log import fired, skipped
from . import Option, register_pass

NAME = "attn-raise"

# The ops that can be the P V contraction (classify decides); generics included.
_LINALG_OPS = sorted({cls.OPERATION_NAME for cls in vars(linalg).values()
                      if isinstance(cls, type) and getattr(cls, "OPERATION_NAME", "")
                      .startswith("linalg.") and cls.OPERATION_NAME not in ("linalg.yield",
                                                                            "linalg.index")})


# --- the pass ----------------------------------------------------------------------------

_PURE = ("linalg.", "tensor.", "arith.", "math.", "attn.")


def erase_dead_ops(func) -> None:
    """Erase side-effect-free ops (tensor results, no uses) at the top level of `func`:
    the helper ops a declined raise built (the driver never saw them)."""
    changed = True
    while changed:
        changed = False
        for op in reversed(list(func.regions[0].blocks[0].operations)):
            op = op.operation
            if op.name.startswith(_PURE) and len(op.results) > 0 and \
                    all(len(list(r.uses)) == 0 for r in op.results):
                op.erase()
                changed = True


def _config() -> rw.GreedyRewriteConfig:
    """The greedy driver as a plain worklist: no folding, no constant CSE, no region
    simplification, so that only the raises (and erasing the ops they leave dead) change
    the IR."""
    config = rw.GreedyRewriteConfig()
    config.enable_folding = False
    config.enable_constant_cse = False
    config.region_simplification_level = rw.GreedySimplifyRegionLevel.DISABLED
    return config


def _patterns(func, min_score_bytes: int) -> rw.FrozenRewritePatternSet:
    declined: set[tuple[int, str]] = set()  # the driver may offer an op again: remark once

    def attention(op, rewriter):
        op = op.operation
        pv = classify(op)
        if pv is None:
            return True
        reason = raise_attention(pv, rewriter, min_score_bytes)
        if reason is None:
            fired(NAME, func, "attention raised to attn.sdpa")
            return False
        if reason not in NOT_ATTENTION and (hash(op), reason) not in declined:
            declined.add((hash(op), reason))
            skipped(NAME, op, reason)
        return True

    patterns = rw.RewritePatternSet()
    for root, pattern in rotary.patterns(func):
        patterns.add(root, pattern, benefit=2)  # rotary first: attention may read it
    for name in _LINALG_OPS:
        patterns.add(name, attention)
    return patterns.freeze()


def attn_raise(op, min_score_bytes=0):
    funcs = [op] if op.name == "func.func" else functions(op)  # also under func.func(...)
    for func in funcs:
        if not func.regions[0].blocks:
            continue
        normalize(func)
        rw.apply_patterns_and_fold_greedily(func, _patterns(func, min_score_bytes), _config())
        erase_dead_ops(func)


attn_raise.__doc__ = __doc__
register_pass(NAME, summary="Raise linalg attention and rotary embedding to attn.sdpa / "
                            "attn.rotary.",
              options=(Option("min-score-bytes", int, 0,
                              "leave attention whose score tensor fits in this many bytes "
                              "as linalg"),))(attn_raise)
