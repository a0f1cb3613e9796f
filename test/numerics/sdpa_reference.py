"""A float64 numpy reference for attn.sdpa (masks, causal, sliding window, GQA), and
one-op modules with every attribute and mask kind, for the kernel tests."""

from __future__ import annotations

import numpy as np


def sdpa_reference(q, k, v, scale, mask=None, causal=False, window=None):
    """softmax(scale * Q K^T + bias) V in float64, bottom-right aligned positions
    (i' = i + Skv - Sq): causal hides j > i', window W hides j <= i' - W, a boolean
    mask hides False; grouped-query heads repeated; a row that sees no key gives 0."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    if q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, rep, axis=-3), np.repeat(v, rep, axis=-3)
    s = scale * (q @ np.swapaxes(k, -1, -2))
    sq, skv = s.shape[-2:]
    pos = np.arange(sq)[:, None] + (skv - sq)
    key = np.arange(skv)[None, :]
    keep = np.ones((sq, skv), bool)
    if causal:
        keep &= key <= pos
    if window is not None:
        keep &= key > pos - window
    if mask is not None and np.asarray(mask).dtype == bool:
        keep = keep & mask
    elif mask is not None:
        s = s + mask
    s = np.where(keep, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    total = e.sum(axis=-1, keepdims=True)
    out = (e @ v) / np.where(total == 0, 1.0, total)
    return np.where(total == 0, 0.0, out)


def _t(shape, elem="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def sdpa_module(q, k, v, mask=None, *, scale: float, causal: bool, window=None,
                boolean=False) -> str:
    """func @f(q, k, v[, mask]) -> attn.sdpa. A boolean mask arrives as i8 (the JIT
    has no i1 arrays) and is turned into the op's i1 operand by `!= 0`."""
    result = list(q[:-1]) + [v[-1]]
    args = [f"%q: {_t(q)}", f"%k: {_t(k)}", f"%v: {_t(v)}"]
    operands, types, body = ["%q", "%k", "%v"], [_t(q), _t(k), _t(v)], []
    if mask is not None and boolean:
        n = len(mask)
        dims = ", ".join(f"d{i}" for i in range(n))
        ident = f"affine_map<({dims}) -> ({dims})>"
        iters = ", ".join(['"parallel"'] * n)
        args.append(f"%m8: {_t(mask, 'i8')}")
        body += [
            f"  %e = tensor.empty() : {_t(mask, 'i1')}",
            f"  %z = arith.constant 0 : i8",
            f"  %m = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = "
            f"[{iters}]}} ins(%m8 : {_t(mask, 'i8')}) "
            f"outs(%e : {_t(mask, 'i1')}) {{",
            "  ^bb0(%x: i8, %o: i1):",
            "    %b = arith.cmpi ne, %x, %z : i8",
            "    linalg.yield %b : i1",
            f"  }} -> {_t(mask, 'i1')}",
        ]
        operands.append("%m")
        types.append(_t(mask, "i1"))
    elif mask is not None:
        args.append(f"%m: {_t(mask)}")
        operands.append("%m")
        types.append(_t(mask))
    attrs = f"scale = {scale!r} : f32, causal = {'true' if causal else 'false'}"
    if window is not None:
        attrs += f", window = {window} : i64"
    body.append(f"  %o = \"attn.sdpa\"({', '.join(operands)}) {{{attrs}}} : "
                f"({', '.join(types)}) -> {_t(result)}")
    return (f"func.func @f({', '.join(args)}) -> {_t(result)} {{\n" + "\n".join(body)
            + f"\n  return %o : {_t(result)}\n}}\n")
