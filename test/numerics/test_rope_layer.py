"""The benchmark's RoPE attention layer, small: numpy reference, before and after attn-optimize."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.ir_utils import walk_ops

from attn_mlir.bench import rope_layer


@pytest.mark.parametrize("seq, d_model, heads, position", [
    (1, 32, 2, 7),     # decode at a fixed position: rotary folded into the weights
    (1, 24, 3, 0),     # position 0: sin == 0, cos == 1
    (6, 32, 4, 0),     # prefill: rotary fused
])
def test_rope_layer_before_and_after(seq, d_model, heads, position):
    text = rope_layer.layer_mlir(seq, d_model, heads, position=position)
    with am.make_context():
        module = am.parse_module(text, "rope_layer.mlir")
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        optimized = str(module)
        matmuls = len(walk_ops(module.operation, "linalg.matmul"))
        concats = walk_ops(module.operation, "tensor.concat")
    assert matmuls <= 4 and not concats
    x = np.random.default_rng(seq).standard_normal((1, seq, d_model)).astype(np.float32)
    want = rope_layer.reference(x, seq, d_model, heads, position=position)
    before, after = am.compile(text)(x), am.compile(optimized)(x)
    np.testing.assert_allclose(before, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5)


def test_rotary_only_before_and_after():
    text = rope_layer.rotary_mlir(seq=5, heads=2, head_dim=8)
    with am.make_context():
        module = am.parse_module(text, "rotary.mlir")
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        optimized = str(module)
        assert not walk_ops(module.operation, "tensor.concat")
    t = np.random.default_rng(0).standard_normal((1, 2, 5, 8)).astype(np.float32)
    cos, sin = rope_layer.rope_tables(5, 8)
    rotated = np.concatenate([-t[..., 4:], t[..., :4]], axis=-1)
    want = t * cos + rotated * sin
    np.testing.assert_allclose(am.compile(text)(t), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(am.compile(optimized)(t), want, rtol=1e-5, atol=1e-6)
