"""Rewrites and non-zero accumulators: a matmul that accumulates into `c` computes `x@W + c`.

Scaling, rotating or merging `x@W` is not the same as doing it to `x@W + c`
(`(x@Wq + c) * s != x@(Wq*s) + c`), so every weight-folding rewrite must leave
such a projection alone or account for `c`. Generated heads have their query
projection's init replaced by a fill of -3.0; attn-optimize must keep the results
of a float64 numpy reference that adds the -3.0.
"""

import numpy as np
import pytest

from attn_mlir.testing import check_rewrite
from attn_mlir.testing.heads import HeadSpec, head_module, rope_tables, rotate_half

INIT = -3.0


def _with_query_init(text: str) -> str:
    """The head with Q's projection (the first matmul) accumulating into INIT."""
    marker = "linalg.fill ins(%zero : f32)"
    index = text.index(marker)  # Q's projection init is the first fill of the head
    text = text[:index] + "linalg.fill ins(%qinit : f32)" + text[index + len(marker):]
    return text.replace("{\n", f"{{\n  %qinit = arith.constant {INIT:e} : f32\n", 1)


def _reference(spec: HeadSpec, x: np.ndarray) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in spec.weights().items()}
    x = np.asarray(x, np.float64)
    s, h, dk = spec.seq, spec.heads, spec.d_k
    q = x @ w["wq"] + INIT
    q, k, v = (np.transpose(t.reshape(s, h, dk), (1, 0, 2)) for t in (q, x @ w["wk"], x @ w["wv"]))
    if spec.has_rotary:
        cos, sin = (t.astype(np.float64) for t in rope_tables(s, dk))
        q, k = (t * cos + rotate_half(t) * sin for t in (q, k))
    scores = spec.softmax_scale * (q @ np.transpose(k, (0, 2, 1)))
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    out = np.transpose(probs @ v, (1, 0, 2)).reshape(s, h * dk)
    return out @ w["wo"] if spec.out_proj else out


SPECS = [HeadSpec(seq=4, d_model=6, d_k=4, heads=h, scale=scale, rotary=rotary, seed=seed)
         for h, scale, rotary, seed in [(1, "mul", False, 1), (1, "div", False, 2),
                                        (2, "split", False, 3), (2, "mul", True, 4),
                                        (1, "div", True, 5), (3, "split", True, 6)]]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"h{s.heads}-{s.scale}-rope{int(s.rotary)}")
def test_query_with_nonzero_init_keeps_results(spec):
    text = _with_query_init(head_module(spec))
    x = np.random.default_rng(spec.seed).standard_normal((spec.seq, spec.d_model)).astype(np.float32)
    outcome = check_rewrite(text, "builtin.module(attn-optimize)", [x])
    want = _reference(spec, x)
    np.testing.assert_allclose(outcome.before[0], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outcome.after[0], want, rtol=1e-4, atol=1e-5)
    # The split form still folds k's half of the scale: only q's projection is blocked.
    folds = outcome.fired("attn-fold-score-scale")
    assert folds == (1 if spec.scale == "split" else 0)
