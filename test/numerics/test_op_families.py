"""Every op family torch-mlir emits around attention in decoder layers and
models (test/numerics/layer_ops.py) compiles under the default `attn-to-llvm`
(cpu schedule, one and two threads) and under `schedule=loops`, and matches
its numpy reference."""

import math
import re
import subprocess
import sys

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


def _opt_report(tmp_path, name):
    text, _, _ = layer_ops.CASES[name]()
    path = tmp_path / f"{name}.mlir"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "attn_mlir.tools.attn_opt", str(path), "--attn-report",
                           "-p", "builtin.module(attn-to-llvm{threads=2})", "-o", str(tmp_path / "out.mlir")],
                          capture_output=True, text=True)


def test_refused_transform_is_a_remark_not_an_error(tmp_path):
    """The vectoriser refuses a body with `cf.assert`: the op is put back, lowered
    as loops (correct, test_op_family), and the report says so; no error."""
    run = _opt_report(tmp_path, "embedding_with_checks")
    assert run.returncode == 0, run.stderr
    assert "error" not in run.stderr
    assert re.search(r"skipped attn-cpu-schedule: .*linalg\.generic \(.*:\d+:\d+\): transform failed, "
                     r"left to loops", run.stderr), run.stderr


def test_norms_fused_into_row_loops(tmp_path):
    """Keep-dim RMSNorm chains fuse into one row loop each; two groups in one
    function are both tried."""
    run = _opt_report(tmp_path, "two_norms_around_matmul")
    assert run.returncode == 0, run.stderr
    assert len(re.findall(r"fired   attn-cpu-schedule: .*: 7 row-wise ops fused", run.stderr)) == 2, run.stderr


@pytest.mark.parametrize("fn_name, reference", [
    ("erf", np.vectorize(math.erf)), ("tanh", np.tanh)])
def test_erf_tanh_approximation_accuracy(fn_name, reference):
    """The vector forms of erf and tanh against libm over [-10, 10], tiny values
    (tanh's series branch) and both signs of zero."""
    n = 4096
    text = f"""func.func @f(%x: tensor<{n}xf32>) -> tensor<{n}xf32> {{
  %e = tensor.empty() : tensor<{n}xf32>
  %y = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}} ins(%x : tensor<{n}xf32>) outs(%e : tensor<{n}xf32>) {{
  ^bb0(%in: f32, %out: f32):
    %r = math.{fn_name} %in : f32
    linalg.yield %r : f32
  }} -> tensor<{n}xf32>
  return %y : tensor<{n}xf32>
}}"""
    x = np.concatenate([np.linspace(-10, 10, n - 6), [0.0, -0.0, 1e-30, -1e-7, 0.0624, 0.0626]])
    x = x.astype(np.float32)
    got = am.compile(text, pipeline=PIPELINES["cpu1"])(x)
    want = reference(x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
