"""Attention raised to attn.sdpa (rooted at the matmul with V).

    O = softmax(c * Q K^T + bias) V    ==>   O = attn.sdpa(Q, K, V[, M]) {scale = c, causal, window}

matched by meaning (match.softmax, match.scores, match.masks): the scores are
any batched matmul (named or generic, K read transposed by its map or through a
transpose), scaled anywhere (scores, Q, K, split) by constants; the bias is
index-built half planes (-> causal / window attributes), masked_fill selects
and tensors from outside (-> one additive mask operand); K and V may be read
through a `repeat_kv` broadcast (grouped/multi-query heads, replaced by the
unrepeated tensors); reshapes of the batch dims may sit anywhere; the guard
zeroing rows whose scores are all -inf is absorbed (attn.sdpa defines those
rows as 0).

Legality: static shapes; the softmax axis is the key axis; the raised op must
pass attn-verify. Other users of the scores or probabilities keep their linalg
chain (the rewrite stays correct, only less memory is saved).
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import linalg, tensor

from ..attn_ops import create_sdpa
from ..diagnostics import AttnError
from ..linalg_match import nbytes, reassociation, static_shape, strip_leading_reshapes
from ..match.contraction import Contraction
from ..match.scores import match_repeated_heads, match_scores, match_transposed_key, strip_scale
from ..match.softmax import match_masked_row_guard, match_softmax
from ..passes.attn_verify import verify_op
from .masks import MaskPlan, plan_mask

# Reasons that mean "this matmul is not the P V of an attention at all": not worth a record.
NOT_ATTENTION = ("not a plain matmul", "the left operand is not a softmax over the last dim")


def _elem(value):
    return ir.RankedTensorType(value.type).element_type


def _rebuild_key(key):
    """K in the layout the matmul expects, built from the transpose's input."""
    k = key.source
    if key.perm != list(range(len(key.perm))):
        src_shape = static_shape(k)
        empty = tensor.empty([src_shape[p] for p in key.perm], _elem(k))
        k = linalg.transpose(k, outs=[empty], permutation=key.perm)
        k = k.results[0] if isinstance(k, ir.OpView) else k
    for r in reversed(key.reshapes):
        out = static_shape(r.results[0])
        out = out[:-2] + [out[-1], out[-2]]
        groups = reassociation(r)
        t = ir.RankedTensorType.get(out, _elem(k))
        if r.name == "tensor.collapse_shape":
            k = tensor.collapse_shape(t, k, groups)
        else:
            k = tensor.expand_shape(t, k, groups, [], out)
    return k


def _to_rank(value, rank):
    """Collapse the leading dims of `value` so it has `rank` dims (the last two kept)."""
    s = static_shape(value)
    if len(s) == rank:
        return value
    if len(s) < rank:
        return None
    lead = len(s) - rank + 1
    groups = [list(range(lead))] + [[i] for i in range(lead, len(s))]
    new = [math.prod(s[:lead])] + s[lead:]
    return tensor.collapse_shape(ir.RankedTensorType.get(new, _elem(value)), value, groups)


def _softmax_input(p3):
    p = strip_leading_reshapes(p3)
    x = match_softmax(p)
    if x is not None:
        return x
    guard = match_masked_row_guard(p)
    if guard is None:
        return None
    x = match_softmax(strip_leading_reshapes(guard[0]))
    return x if x is not None and guard[1] == x else None


def raise_attention(pv: Contraction, rewriter, min_score_bytes: int = 0) -> str | None:
    """Replace the matmul `pv` = P V by attn.sdpa through `rewriter` (a PatternRewriter);
    returns a skip reason or None on success. The chain that computed P V is left dead,
    for the driver to erase.

    Attention whose score tensor P holds at most `min_score_bytes` is left as it is."""
    layout = pv.layout()
    if layout is None or layout.lhs_transposed or layout.rhs_transposed or not pv.zero_init():
        return "not a plain matmul"
    p3, v3 = pv.lhs, pv.rhs
    if static_shape(p3) is None or static_shape(v3) is None:
        return "not a plain matmul"  # dynamic shapes: attn.sdpa needs static ones
    rank = len(static_shape(p3))
    x = _softmax_input(p3)
    if x is None:
        return "the left operand is not a softmax over the last dim"
    scores = match_scores(x)
    if scores is None:
        return "the softmax input is not (scaled, masked) Q K^T"
    qk = scores.matmul
    if static_shape(qk.result) != static_shape(p3):
        return "Q K^T and P V do not have matching batch dims"
    q, q_scale = strip_scale(qk.lhs)
    scale = scores.scale * q_scale
    key = None
    if not qk.layout().rhs_transposed:
        key = match_transposed_key(qk.rhs)
        if key is None:
            return "K^T is not a transpose of K"
        scale *= key.scale
        if static_shape(key.source) is None:
            return "K has a dynamic shape"
    sq, skv = static_shape(p3)[-2], static_shape(p3)[-1]
    if nbytes(p3) <= min_score_bytes:
        return f"the score tensor ({nbytes(p3)} bytes) is within min-score-bytes"
    op = pv.op
    with ir.InsertionPoint(op), op.location:
        plan = MaskPlan(None, False, None)
        if scores.bias is not None:
            plan = plan_mask(scores.bias, scores.domain, sq, skv, rank, _elem(p3))
            if isinstance(plan, str):
                return plan
        k = _rebuild_key(key) if key else qk.rhs
        if static_shape(k) is None or len(static_shape(k)) != rank:
            return "K has a different rank than Q"
        v = v3
        rk, rv = match_repeated_heads(k), match_repeated_heads(v)
        if rk and rv and rk[1] == rv[1] and static_shape(rk[0])[:-1] == static_shape(rv[0])[:-1]:
            k2, v2 = _to_rank(rk[0], rank), _to_rank(rv[0], rank)
            if k2 is not None and v2 is not None:
                k, v = k2, v2
        new = create_sdpa(q, k, v, plan.mask, scale=float(scale), causal=plan.causal,
                          result_type=op.results[0].type)
        if plan.window is not None:
            new.attributes["window"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64),
                                                          plan.window)
    try:
        verify_op(new)
    except AttnError as e:
        rewriter.erase_op(new)
        return f"the raised op would be ill-shaped ({e.diagnostics[0].message})"
    rewriter.replace_op(op, new)
    return None
