"""attn-raise fires on generated heads written in random combinations of spellings, and
the raised program (fused kernel, attn-to-llvm{max-score-bytes=0}) matches a float64
numpy reference (rtol 1e-4, atol 1e-5).

Spellings drawn (python/attn_mlir/testing/heads.py): scale on the scores as `* s` or
`/ d`, split over Q and K, or none, as f32 or as a truncated f64 constant; K^T as a
transpose or read through the matmul's map; weights [in, out] or [out, in] behind a
transpose; rotary on q and k; row max as maximumf or cmpf ogt + select; softmax
normalised by division or by a reciprocal generic; a causal mask as masked_fill from
linalg.index or as an index-built bias broadcast over heads, or none.

The default run is short; set ATTN_HYPOTHESIS_EXAMPLES=500 for a long one.
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attn_mlir as am
from attn_mlir.attn_ops import Sdpa
from attn_mlir.ir_utils import walk_ops
from attn_mlir.testing.heads import (MASKS, NORMALISATIONS, ROW_MAXES, SCALES, HeadSpec,
                                     head_module, head_reference)

EXAMPLES = int(os.environ.get("ATTN_HYPOTHESIS_EXAMPLES", "10"))
RAISED = "builtin.module(attn-to-llvm{max-score-bytes=0})"

head_specs = st.builds(
    HeadSpec,
    seq=st.integers(1, 6), d_model=st.integers(1, 8), d_k=st.integers(1, 4),
    heads=st.integers(1, 3), scale=st.sampled_from(SCALES), k_transposed=st.booleans(),
    weights_out_in=st.booleans(), out_proj=st.booleans(), rotary=st.booleans(),
    seed=st.integers(0, 2**16), scale_f64=st.booleans(), row_max=st.sampled_from(ROW_MAXES),
    normalise=st.sampled_from(NORMALISATIONS), mask=st.sampled_from(MASKS),
    interleaved_qkv=st.booleans())


def _raised(text):
    with am.make_context():
        module = am.parse(text)
        am.run_pipeline(module, "builtin.module(attn-raise)")
        ops = walk_ops(module.operation, "attn.sdpa")
        again = str(module)
        am.run_pipeline(module, "builtin.module(attn-raise)")
        assert str(module) == again, "attn-raise is not idempotent"
        return [(Sdpa(op).causal, Sdpa(op).mask is not None) for op in ops]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=head_specs)
def test_raise_fires_on_every_spelling_and_keeps_results(spec):
    text = head_module(spec)
    # One attention, the causal mask an attribute (never a tensor operand).
    assert _raised(text) == [(spec.mask is not None, False)]
    x = np.random.default_rng(spec.seed).standard_normal((spec.seq, spec.d_model)) \
        .astype(np.float32)
    got = am.compile(text, entry="head", pipeline=RAISED)(x)
    np.testing.assert_allclose(got, head_reference(spec, x), rtol=1e-4, atol=1e-5)
