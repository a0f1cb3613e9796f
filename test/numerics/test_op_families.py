"""Every op family torch-mlir emits around attention in decoder layers and
models (test/numerics/layer_ops.py) compiles under the default `attn-to-llvm`
(cpu schedule, one and two threads) and under `schedule=loops`, and matches
its numpy reference."""

import numpy as np
import pytest

import attn_mlir as am

import layer_ops

PIPELINES = {
    "cpu1": "builtin.module(attn-to-llvm{threads=1})",
    "cpu2": "builtin.module(attn-to-llvm{threads=2})",
    "loops": "builtin.module(attn-to-llvm{schedule=loops})",
}


def _check(case, pipeline, **sizes):
    text, inputs, expected = case(**sizes)
    fn = am.compile(text, pipeline=PIPELINES[pipeline])
    outputs = fn(*inputs)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
@pytest.mark.parametrize("name", sorted(layer_ops.CASES))
def test_op_family(name, pipeline):
    _check(layer_ops.CASES[name], pipeline)


@pytest.mark.parametrize("s, h", [(13, 40), (1, 64), (33, 96)])
def test_rms_norm_odd_rows_and_widths(s, h):
    """Row blocks that do not divide, widths that are not a multiple of 16 (not row-fused)."""
    _check(layer_ops.rms_norm, "cpu2", s=s, h=h)


@pytest.mark.parametrize("s, h", [(7, 48), (1, 128)])
def test_layer_norm_odd_rows(s, h):
    _check(layer_ops.layer_norm, "cpu2", s=s, h=h)
