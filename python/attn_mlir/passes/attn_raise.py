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

from ..ir_utils import functions, rewrite_each
from ..match.contraction import classify
from ..normalize import normalize
from ..raising.rotary import raise_rotary_ops
from ..raising.sdpa import NOT_ATTENTION, raise_attention
from ..rewrite_log import fired, skipped
from . import Option, register_pass

NAME = "attn-raise"


# --- the pass ----------------------------------------------------------------------------

_PURE = ("linalg.", "tensor.", "arith.", "math.", "attn.")


def erase_dead_ops(func) -> None:
    """Erase side-effect-free ops (tensor results, no uses) at the top level of `func`."""
    changed = True
    while changed:
        changed = False
        for op in reversed(list(func.regions[0].blocks[0].operations)):
            op = op.operation
            if op.name.startswith(_PURE) and len(op.results) > 0 and \
                    all(len(list(r.uses)) == 0 for r in op.results):
                op.erase()
                changed = True


def attn_raise(op, min_score_bytes=0):
    funcs = [op] if op.name == "func.func" else functions(op)  # also under func.func(...)
    for func in funcs:
        if not func.regions[0].blocks:
            continue
        normalize(func)
        raise_rotary_ops(func)

        def raise_at(op_):
            pv = classify(op_) if op_.name.startswith("linalg.") else None
            if pv is None:
                return False
            reason = raise_attention(pv, min_score_bytes)
            if reason is None:
                fired(NAME, func, "attention raised to attn.sdpa")
                return True
            if reason not in NOT_ATTENTION:
                skipped(NAME, op_, reason)  # may leave unused helper ops behind
            return False

        rewrite_each(func, None, raise_at)
        erase_dead_ops(func)


attn_raise.__doc__ = __doc__
register_pass(NAME, summary="Raise linalg attention and rotary embedding to attn.sdpa / "
                            "attn.rotary.",
              options=(Option("min-score-bytes", int, 0,
                              "leave attention whose score tensor fits in this many bytes "
                              "as linalg"),))(attn_raise)
