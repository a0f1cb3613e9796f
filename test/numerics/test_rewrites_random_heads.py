"""Randomized differential test of the rewrites on generated attention heads.

Hypothesis draws head shapes (seq, d_model, d_k, heads) and variants (scale
form, K^T as transpose or matmul map, weight layout, output projection, q/k/v
as three products or one whose columns interleave per head); each
head is JIT-run before and after the rewrite pipeline on the same input and
compared (rtol 1e-4, atol 1e-5), and with a float64 numpy reference.

The default run is short; set ATTN_HYPOTHESIS_EXAMPLES=500 for a long one.
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attn_mlir as am
from attn_mlir.report import count_module
from attn_mlir.testing import check_rewrite
from attn_mlir.testing.heads import SCALES, HeadSpec, head_module, head_reference

EXAMPLES = int(os.environ.get("ATTN_HYPOTHESIS_EXAMPLES", "10"))
PIPELINES = ("builtin.module(attn-fold-transposes,attn-fold-score-scale,attn-fuse-projections)",
             "builtin.module(attn-fold-transposes,attn-fuse-projections,attn-fold-score-scale)")

head_specs = st.builds(
    HeadSpec,
    seq=st.integers(1, 6), d_model=st.integers(1, 8), d_k=st.integers(1, 4),
    heads=st.integers(1, 3), scale=st.sampled_from(SCALES), k_transposed=st.booleans(),
    weights_out_in=st.booleans(), out_proj=st.booleans(), rotary=st.booleans(),
    seed=st.integers(0, 2**16), interleaved_qkv=st.booleans())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=head_specs, pipeline=st.sampled_from(PIPELINES))
def test_rewrites_preserve_generated_heads(spec, pipeline):
    text = head_module(spec)
    x = np.random.default_rng(spec.seed).standard_normal((spec.seq, spec.d_model)) \
        .astype(np.float32)
    outcome = check_rewrite(text, pipeline, [x])
    np.testing.assert_allclose(outcome.before[0], head_reference(spec, x), rtol=1e-4, atol=1e-5)
    scale_folds = {None: 0, "mul": 1, "div": 1, "split": 2}[spec.scale]
    assert outcome.fired("attn-fold-score-scale") == scale_folds
    fused = 0 if spec.interleaved_qkv else 1  # an interleaved q/k/v is one product already
    assert outcome.fired("attn-fuse-projections") == fused
    with am.make_context():
        before = count_module(am.parse(text))["head"]
        after = count_module(am.parse(outcome.text))["head"]
    assert after.flops <= before.flops
    assert after.matmuls == before.matmuls - 2 * fused


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=head_specs)
def test_attn_optimize_preserves_generated_heads(spec):
    """The whole attn-optimize pipeline: same results, no more FLOPs, matmuls or constant bytes."""
    text = head_module(spec)
    x = np.random.default_rng(spec.seed).standard_normal((spec.seq, spec.d_model)) \
        .astype(np.float32)
    outcome = check_rewrite(text, "builtin.module(attn-optimize)", [x])
    np.testing.assert_allclose(outcome.after[0], head_reference(spec, x), rtol=1e-4, atol=1e-5)
    with am.make_context():
        before = count_module(am.parse(text))["head"]
        after = count_module(am.parse(outcome.text))["head"]
    assert after.flops <= before.flops
    assert after.matmuls <= before.matmuls
    assert after.constant_bytes <= before.constant_bytes
