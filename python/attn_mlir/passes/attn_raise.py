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

from mlir.dialects import linalg

from .. import greedy
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


def _attention(func, min_score_bytes: int):
    declined: set[tuple[int, str]] = set()  # the driver may offer an op again: remark once

    def rewrite(op, rewriter) -> bool:
        pv = classify(op)
        if pv is None:
            return False
        reason = raise_attention(pv, rewriter, min_score_bytes)
        if reason is None:
            fired(NAME, func, "attention raised to attn.sdpa")
            return True
        if reason not in NOT_ATTENTION and (hash(op), reason) not in declined:
            declined.add((hash(op), reason))
            skipped(NAME, op, reason)
        return False

    return [(name, rewrite) for name in _LINALG_OPS]


def attn_raise(op, min_score_bytes=0):
    funcs = [op] if op.name == "func.func" else functions(op)  # also under func.func(...)
    for func in funcs:
        if not func.regions[0].blocks:
            continue
        normalize(func)
        greedy.apply(func, rotary.rewrites(func) + _attention(func, min_score_bytes))
        erase_dead_ops(func)


attn_raise.__doc__ = __doc__
register_pass(NAME, summary="Raise linalg attention and rotary embedding to attn.sdpa / "
                            "attn.rotary.",
              options=(Option("min-score-bytes", int, 0,
                              "leave attention whose score tensor fits in this many bytes "
                              "as linalg"),))(attn_raise)
