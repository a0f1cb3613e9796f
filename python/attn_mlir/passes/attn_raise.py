"""attn-raise: recognise attention and rotary embedding in linalg and raise them to attn ops.

Attention (rooted at the matmul with V):

    O = softmax(c * Q K^T [+ M]) V    ==>   O = attn.sdpa(Q, K, V[, M']) {scale = c, causal}

matched on the forms frontends emit: `linalg.matmul` / `linalg.batch_matmul`
with a zero-filled init; K^T a `linalg.transpose` of K (any permutation whose
last two entries, swapped, give K's layout), possibly followed by reshapes of
the batch dims and scalar multiplies (folded into c); the scale c as `mulf` /
`divf` by a scalar constant, on the scores or on K; `linalg.softmax` over the
last dim or its decomposed form (max reduction, sub, exp, sum, div, with or
without an unused argmax); an optional additive mask that varies along the
last two dims only; reshapes of the batch dims anywhere in between; and the
guard that zeroes rows whose scores are all -inf (attn.sdpa defines those
rows as 0). A mask that evaluates (from constants) to 0 on and below the
bottom-right-aligned diagonal and -inf (or <= -1e30) above it becomes
`causal = true`. Grouped-query attention: K and V read through a broadcast
`linalg.generic` that repeats each kv head r times ([.., Hkv, r, S, D] then
collapsed) are replaced by the unrepeated tensors.

Legality: static shapes; the softmax axis is the key axis; K^T is really a
transpose of K (the matmul contracts over the head size); a scale applied
after the mask would scale the mask, so it is not raised; the raised op must
pass attn-verify. Other users of the scores or probabilities keep their linalg
chain (the rewrite stays correct, only less memory is saved).

Rotary embedding (rooted at the add):

    x * cos + cat(-x[.., h:2h], x[.., :h]) * sin   ==>   attn.rotary(x, cos, sin) {half, 2h}

with cos/sin broadcast over x's leading dims (numpy rules); then partial
rotary: cat(attn.rotary(x[.., :R]), x[.., R:]) ==> attn.rotary(x) {rotary_dim = R}.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import linalg, tensor

from ..attn_ops import create_sdpa
from ..const_eval import evaluate
from ..diagnostics import AttnError
from ..ir_utils import functions, walk_ops
from ..linalg_match import (as_generic, body_pair, elementwise, is_leading_reshape,
                            is_row_broadcast, is_zero_fill, nbytes, permutation, producer,
                            reassociation, reduction_over_last, single_body_op, static_shape,
                            strip_leading_reshapes)
from ..normalize import normalize
from ..raising.rotary import raise_rotary_ops
from ..rewrite_log import fired, skipped
from . import Option, register_pass
from .attn_verify import verify_op

NAME = "attn-raise"
MATMULS = ("linalg.matmul", "linalg.batch_matmul")


# --- softmax -----------------------------------------------------------------------------

def match_softmax(p):
    """The input X of P = softmax(X) over the last dim, or None."""
    op, p_shape = producer(p), static_shape(p)
    if op is None or p_shape is None:
        return None
    rank = len(p_shape)
    if op.name == "linalg.softmax":
        if ir.IntegerAttr(op.attributes["dimension"]).value != rank - 1:
            return None
        return op.operands[0]
    div = elementwise(p)
    body = single_body_op(div, "arith.divf") if div else None
    if body is None:
        return None
    i, j = body_pair(div, body)
    if i is None or j is None or max(i, j) >= len(div.inputs) or not div.is_identity(i) \
            or not is_row_broadcast(div.maps[j], rank, static_shape(div.inputs[j])):
        return None
    e = div.inputs[i]
    total = as_generic(producer(div.inputs[j]))
    if total is None or len(total.inputs) != 1 or total.inputs[0] != e \
            or not reduction_over_last(total, rank) or not is_zero_fill(total.outputs[0]):
        return None
    add = single_body_op(total, "arith.addf")
    if add is None or set(body_pair(total, add)) != {0, 1}:
        return None
    return _match_exp_of_sub(e, rank)


def _match_exp_of_sub(e, rank):
    """X from E = exp(X - rowmax(X)), as one generic or as sub then exp."""
    g = elementwise(e)
    if g is None:
        return None
    body = g.body
    if len(body) == 1 and body[0].name == "math.exp" and g.yielded[0] == body[0].results[0]:
        if g.arg_index(body[0].operands[0]) != 0 or len(g.inputs) != 1 or not g.is_identity(0):
            return None
        g = elementwise(g.inputs[0])
        sub = single_body_op(g, "arith.subf") if g else None
    elif (len(body) == 2 and body[0].name == "arith.subf" and body[1].name == "math.exp"
          and body[1].operands[0] == body[0].results[0] and g.yielded[0] == body[1].results[0]):
        sub = body[0]
    else:
        return None
    if sub is None:
        return None
    i, j = body_pair(g, sub)
    if i is None or j is None or max(i, j) >= len(g.inputs) or not g.is_identity(i) \
            or not is_row_broadcast(g.maps[j], rank, static_shape(g.inputs[j])):
        return None
    x, rowmax = g.inputs[i], g.inputs[j]
    if producer(rowmax) is not None and producer(rowmax).name == "tensor.expand_shape":
        rowmax = producer(rowmax).operands[0]
    mx = as_generic(producer(rowmax))
    if mx is None or len(mx.inputs) != 1 or mx.inputs[0] != x or not reduction_over_last(mx, rank):
        return None
    index = [k for k, r in enumerate(mx.op.results) if r == rowmax]
    if not index:
        return None
    top = producer(mx.yielded[index[0]])
    if top is None or top.name not in ("arith.maximumf", "arith.maxnumf"):
        return None
    if set(body_pair(mx, top)) != {0, 1 + index[0]}:
        return None
    return x


def match_masked_row_guard(p):
    """(P', X) for P = select(all(X == -inf) per row, 0, P'), else None."""
    g = elementwise(p)
    sel = single_body_op(g, "arith.select") if g else None
    if sel is None:
        return None
    c, z, v = (g.arg_index(o) for o in sel.operands)
    if c is None or v is None or g.scalar(sel.operands[1]) != 0.0 or not g.is_identity(v):
        return None
    if static_shape(p) is None or static_shape(g.inputs[c]) is None:
        return None
    rank = len(static_shape(p))
    if not is_row_broadcast(g.maps[c], rank, static_shape(g.inputs[c])):
        return None
    red = as_generic(producer(g.inputs[c]))
    andi = single_body_op(red, "arith.andi") if red else None
    if andi is None or len(red.inputs) != 1 or not reduction_over_last(red, rank):
        return None
    cmp = elementwise(red.inputs[0])
    if cmp is None or len(cmp.inputs) != 1 or not cmp.is_identity(0):
        return None
    last = producer(cmp.yielded[0])
    if last is None or last.name != "arith.cmpf" or \
            ir.IntegerAttr(last.attributes["predicate"]).value != 1:  # oeq
        return None
    if -math.inf not in (cmp.scalar(last.operands[0]), cmp.scalar(last.operands[1])):
        return None
    return g.inputs[v], cmp.inputs[0]


# --- scores ------------------------------------------------------------------------------

def _scalar_factor(g, op):
    """(tensor input index, factor) for `mulf`/`divf` of a tensor input by a scalar constant."""
    i, j = body_pair(g, op)
    if op.name == "arith.mulf":
        for t, s in ((i, op.operands[1]), (j, op.operands[0])):
            c = g.scalar(s)
            if t is not None and t < len(g.inputs) and c is not None and g.is_identity(t):
                return t, c
    elif op.name == "arith.divf":
        c = g.scalar(op.operands[1])
        if i is not None and i < len(g.inputs) and c not in (None, 0.0) and g.is_identity(i):
            return i, 1.0 / c
    return None


def _matmul_kind(op):
    """'kt' if B is K^T ([.., D, Skv]), 'k' if the maps read B transposed, else None."""
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    pos = [[e.position if isinstance(e, ir.AffineDimExpr) else None for e in m.results]
           for m in maps]
    b = [0] if op.name == "linalg.batch_matmul" else []
    s = len(b)
    m_, n_, k_ = s, s + 1, s + 2
    if pos[0] != b + [m_, k_] or pos[2] != b + [m_, n_]:
        return None
    if pos[1] == b + [k_, n_]:
        return "kt"
    if pos[1] == b + [n_, k_]:
        return "k"
    return None


class Scores:
    def __init__(self, matmul, scale, mask):
        self.matmul, self.scale, self.mask = matmul, scale, mask


def match_scores(x, scale=1.0, mask=None):
    """Walk from the softmax input up to the Q K^T matmul through scale, mask and reshapes."""
    while True:
        op = producer(x)
        if op is None:
            return None
        if is_leading_reshape(op):
            x = op.operands[0]
            continue
        if op.name in MATMULS:
            if not is_zero_fill(op.operands[2]) or _matmul_kind(op) is None:
                return None
            return Scores(op, scale, mask)
        g = elementwise(x)
        if g is None or len(g.body) != 1 or g.yielded[0] != g.body[0].results[0]:
            return None
        body = g.body[0]
        if body.name in ("arith.mulf", "arith.divf"):
            found = _scalar_factor(g, body)
            if found is None:
                return None
            scale *= found[1]
            x = g.inputs[found[0]]
            continue
        if body.name == "arith.addf" and mask is None and scale == 1.0 and static_shape(x):
            i, j = body_pair(g, body)
            if i is None or j is None or max(i, j) >= len(g.inputs):
                return None
            for chain, other in ((i, j), (j, i)):
                if g.is_identity(chain):
                    found = match_scores(g.inputs[chain], scale,
                                         (g.inputs[other], g.maps[other], len(static_shape(x))))
                    if found is not None:
                        return found
        return None


def match_transposed_key(kt):
    """(transpose op, permutation giving K, reshapes nearest-first, scale) for K^T, or None."""
    reshapes, scale, x = [], 1.0, kt
    while True:
        op = producer(x)
        if op is None:
            return None
        if is_leading_reshape(op):
            reshapes.append(op)
            x = op.operands[0]
            continue
        if op.name == "linalg.transpose":
            perm = permutation(op)
            return op, perm[:-2] + [perm[-1], perm[-2]], reshapes, scale
        g = elementwise(x)
        if g is None or len(g.body) != 1 or g.yielded[0] != g.body[0].results[0]:
            return None
        found = _scalar_factor(g, g.body[0])
        if found is None:
            return None
        scale *= found[1]
        x = g.inputs[found[0]]


def match_repeated_heads(v3):
    """(unrepeated [.., Hkv, S, D] tensor, r) if v3 collapses a [.., Hkv, r, S, D] broadcast."""
    x = strip_leading_reshapes(v3)
    g = elementwise(x)
    if g is None or static_shape(x) is None or static_shape(g.inputs[0]) is None or len(g.inputs) != 1 or g.body or g.arg_index(g.yielded[0]) != 0:
        return None
    n = len(static_shape(x))
    if n < 4:
        return None
    dims = [e.position if isinstance(e, ir.AffineDimExpr) else None for e in g.maps[0].results]
    if dims != [k for k in range(n) if k != n - 3]:
        return None
    return g.inputs[0], static_shape(x)[n - 3]


# --- building ----------------------------------------------------------------------------

def _elem(value):
    return ir.RankedTensorType(value.type).element_type


def _rebuild_key(transpose_op, perm, reshapes):
    """K in the layout the matmul expects, built from the transpose's input."""
    src = transpose_op.operands[0]
    k = src
    if perm != list(range(len(perm))):
        src_shape = static_shape(src)
        empty = tensor.empty([src_shape[p] for p in perm], _elem(src))
        k = linalg.transpose(src, outs=[empty], permutation=perm)
    for r in reversed(reshapes):
        out = static_shape(r.results[0])
        out = out[:-2] + [out[-1], out[-2]]
        groups = reassociation(r)
        t = ir.RankedTensorType.get(out, _elem(src))
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
    lead = len(s) - rank + 1
    groups = [list(range(lead))] + [[i] for i in range(lead, len(s))]
    new = [math.prod(s[:lead])] + s[lead:]
    return tensor.collapse_shape(ir.RankedTensorType.get(new, _elem(value)), value, groups)


def _mask_2d(mask, sq, skv):
    """(value [rows, cols], rows, cols) for a mask varying along the last two score dims."""
    value, amap, n = mask
    m_shape = static_shape(value)
    if m_shape is None or not m_shape:
        return None
    rows = cols = 1
    last = -1
    for size, e in zip(m_shape, amap.results):
        if isinstance(e, ir.AffineConstantExpr):
            if e.value != 0 or size != 1:
                return None
        elif isinstance(e, ir.AffineDimExpr):
            if e.position < n - 2 or e.position <= last:
                if size != 1:
                    return None
                continue
            last = e.position
            if e.position == n - 2:
                rows = size
            else:
                cols = size
        else:
            return None
    if rows not in (1, sq) or cols not in (1, skv):
        return None
    if m_shape == [rows, cols]:
        return value, rows, cols
    t = ir.RankedTensorType.get([rows, cols], _elem(value))
    if len(m_shape) == 1:
        return tensor.expand_shape(t, value, [[0, 1]], [], [rows, cols]), rows, cols
    for k in range(len(m_shape) - 1):
        if math.prod(m_shape[:k + 1]) == rows and math.prod(m_shape[k + 1:]) == cols:
            groups = [list(range(k + 1)), list(range(k + 1, len(m_shape)))]
            return tensor.collapse_shape(t, value, groups), rows, cols
    return None


def is_causal_mask(mask_value, sq, skv) -> bool:
    """Whether the constant mask is 0 on/below the bottom-right diagonal and -inf above."""
    array = evaluate(mask_value)
    if array is None or array.size != sq * skv:
        return False
    array = np.asarray(array, np.float64).reshape(sq, skv)
    keep = np.tril(np.ones((sq, skv), bool), k=skv - sq)
    return bool(np.all(array[keep] == 0.0) and np.all(array[~keep] <= -1e30))


def raise_attention(pv, min_score_bytes: int = 0) -> str | None:
    """Replace the matmul `pv` = P V by attn.sdpa; returns a skip reason or None on success.

    Attention whose score tensor P holds at most `min_score_bytes` is left as it is."""
    if not is_zero_fill(pv.operands[2]) or _matmul_kind(pv) != "kt":
        return "not a plain matmul"
    p3, v3 = pv.operands[0], pv.operands[1]
    if static_shape(p3) is None or static_shape(v3) is None:
        return "not a plain matmul"  # dynamic shapes: attn.sdpa needs static ones
    rank = len(static_shape(p3))
    p = strip_leading_reshapes(p3)
    x = match_softmax(p)
    if x is None:
        guard = match_masked_row_guard(p)
        if guard is None:
            return "the left operand is not a softmax over the last dim"
        x = match_softmax(strip_leading_reshapes(guard[0]))
        if x is None or guard[1] != x:
            return "the left operand is not a softmax over the last dim"
    scores = match_scores(x)
    if scores is None:
        return "the softmax input is not (scaled, masked) Q K^T"
    qk = scores.matmul
    if qk.name != pv.name or static_shape(qk.results[0]) != static_shape(p3):
        return "Q K^T and P V do not have matching batch dims"
    q = qk.operands[0]
    scale = scores.scale
    if _matmul_kind(qk) == "k":
        key_parts = None
    else:
        key_parts = match_transposed_key(qk.operands[1])
        if key_parts is None:
            return "K^T is not a transpose of K"
        scale *= key_parts[3]
    sq, skv = static_shape(p3)[-2], static_shape(p3)[-1]
    if nbytes(p3) <= min_score_bytes:
        return f"the score tensor ({nbytes(p3)} bytes) is within min-score-bytes"
    with ir.InsertionPoint(pv), pv.location:
        if key_parts and static_shape(key_parts[0].operands[0]) is None:
            return "K has a dynamic shape"
        k = _rebuild_key(*key_parts[:3]) if key_parts else qk.operands[1]
        if static_shape(k) is None or len(static_shape(k)) != rank:
            return "K has a different rank than Q"
        v = v3
        if rank == 3:
            rk, rv = match_repeated_heads(k), match_repeated_heads(v)
            if rk and rv and rk[1] == rv[1] and static_shape(rk[0])[:-1] == static_shape(rv[0])[:-1]:
                k, v = _to_rank(rk[0], 3), _to_rank(rv[0], 3)
        mask, causal = None, False
        if scores.mask is not None:
            m2 = _mask_2d(scores.mask, sq, skv)
            if m2 is None:
                return "the additive mask varies along batch/head dims"
            if m2[1] == sq and m2[2] == skv and is_causal_mask(scores.mask[0], sq, skv):
                causal = True
            else:
                mask = m2[0]
        op = create_sdpa(q, k, v, mask, scale=float(scale), causal=causal,
                         result_type=pv.results[0].type)
    try:
        verify_op(op)
    except AttnError as e:
        op.erase()
        return f"the raised op would be ill-shaped ({e.diagnostics[0].message})"
    pv.results[0].replace_all_uses_with(op.results[0])
    pv.erase()
    return None


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


# Reasons that mean "this matmul is not the P V of an attention at all": not worth a record.
_NOT_ATTENTION = ("not a plain matmul", "the left operand is not a softmax over the last dim")


def _guarded(rewrite, op, no_match):
    """Run one rewrite; an IR form the matchers did not foresee means "no match".
    Uses are only replaced at the very end of a rewrite, so a failed one leaves at
    most dead ops behind, which erase_dead_ops removes."""
    try:
        return rewrite(op)
    except (TypeError, ValueError, IndexError, AttributeError, KeyError):
        return no_match


def attn_raise(op, min_score_bytes=0):
    funcs = [op] if op.name == "func.func" else functions(op)  # also under func.func(...)
    for func in funcs:
        if not func.regions[0].blocks:
            continue
        normalize(func)
        raise_rotary_ops(func)
        touched = True
        for pv in [m for name in MATMULS for m in walk_ops(func, name)]:
            reason = _guarded(lambda m: raise_attention(m, min_score_bytes), pv,
                              "unexpected IR form")
            if reason is None:
                fired(NAME, func, "attention raised to attn.sdpa")
                touched = True
            elif reason not in _NOT_ATTENTION:
                skipped(NAME, pv, reason)
                touched = True  # a late skip may leave unused helper ops behind
        if touched:
            erase_dead_ops(func)


attn_raise.__doc__ = __doc__
register_pass(NAME, summary="Raise linalg attention and rotary embedding to attn.sdpa / "
                            "attn.rotary.",
              options=(Option("min-score-bytes", int, 0,
                              "leave attention whose score tensor fits in this many bytes "
                              "as linalg"),))(attn_raise)
