"""Plain numpy references for the computations attn-mlir compiles.

Tests and benchmarks check compiled results against these; they use nothing
from the compiler.
"""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def attention_head(x, wq, wk, wv, scale: float = 1.0) -> np.ndarray:
    """softmax(scale * (x Wq)(x Wk)^T) (x Wv), computed in float64."""
    x, wq, wk, wv = (np.asarray(a, np.float64) for a in (x, wq, wk, wv))
    q, k, v = x @ wq, x @ wk, x @ wv
    return softmax(scale * (q @ k.T)) @ v


def sdpa(q, k, v, scale: float | None = None, mask=None, causal: bool = False) -> np.ndarray:
    """Scaled dot-product attention on [..., S, D] arrays, in float64."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    s = scale * (q @ np.swapaxes(k, -1, -2))
    if mask is not None:
        s = s + mask
    if causal:
        sq, skv = s.shape[-2], s.shape[-1]
        keep = np.tril(np.ones((sq, skv), bool), k=skv - sq)
        s = np.where(keep, s, -np.inf)
    return softmax(s) @ v
