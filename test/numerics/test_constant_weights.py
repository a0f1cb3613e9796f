"""Constant weights written in the IR are held once by a JIT-compiled function.

`attn_mlir.compile` moves float constants of at least `EXTERNAL_MIN_BYTES` into
arrays it binds as arguments (constants.externalize_constants, then
attn-lift-weights): the machine code holds no copy, what packing derives from a
weight replaces it, and text compiled here is parsed in a context that is
freed once the function is built."""

import gc
import os
import subprocess
import sys

import numpy as np
import pytest
from mlir import ir

import attn_mlir as am
from attn_mlir.context import make_context
from attn_mlir.ir_utils import walk_ops
from attn_mlir.jit import EXTERNAL_MIN_BYTES
from attn_mlir.source import parse_module


def linear(m, k, n, seed=0):
    w = (np.random.default_rng(seed).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    hexed = w.tobytes().hex().upper()
    text = f"""func.func @main(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<"0x{hexed}"> : tensor<{k}x{n}xf32>
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""
    return text, w


def _check(fn, w, seed=1):
    x = np.random.default_rng(seed).standard_normal(fn.arg_specs[0].shape).astype(np.float32)
    np.testing.assert_allclose(fn(x), x.astype(np.float64) @ w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m", (1, 4, 96))
def test_big_constant_is_bound_not_compiled(m):
    k, n = 1024, 512  # 2 MiB
    assert k * n * 4 >= EXTERNAL_MIN_BYTES
    text, w = linear(m, k, n)
    fn = am.compile(text)
    assert [a.size for a in fn.weights] == [k * n]  # as read (m = 4), or packed (1, 96)
    assert all(a.ctypes.data % 64 == 0 for a in fn.weights)
    assert len(str(fn.llvm_module)) < 200_000  # no 4 MB of hex in the lowered module
    _check(fn, w)


def test_small_constant_stays_in_the_code():
    text, w = linear(4, 64, 64)
    fn = am.compile(text)
    assert fn.weights == []
    _check(fn, w)


def test_callers_module_is_left_as_it_was():
    text, w = linear(4, 1024, 512)
    with make_context():
        module = parse_module(text, "<case>")
        fn = am.compile(module)
        assert [op.name for op in walk_ops(module.operation, "arith.constant")
                if "dense<\"0x" in str(op.attributes["value"])[:16]] == ["arith.constant"]
    assert len(fn.weights) == 1
    _check(fn, w)


def test_text_is_parsed_in_a_context_that_is_freed():
    gc.collect()
    before = ir.Context._get_live_count()
    fn = am.compile(linear(4, 1024, 512)[0])
    gc.collect()
    assert ir.Context._get_live_count() == before + 1  # the lowered module's own
    del fn
    gc.collect()
    assert ir.Context._get_live_count() == before


RSS = """
import gc, os, sys
import numpy as np
import attn_mlir as am
sys.path.insert(0, sys.argv[1])
from test_constant_weights import linear

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

am.compile(linear(4, 16, 16)[0])  # the libraries loaded, a first engine built
gc.collect()
before = rss()
text, w = linear(8, 4096, 4096)  # 64 MiB of weights, 128 MB of hex
fn = am.compile(text)
del text, w
gc.collect()
print(rss() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_compiled_function_holds_its_weights_once():
    done = subprocess.run([sys.executable, "-c", RSS, os.path.dirname(__file__)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    weights = 4096 * 4096 * 4
    assert int(done.stdout) < 1.25 * weights, int(done.stdout) / weights


def test_any_pipeline_that_lifts_weights_binds_constants():
    """attn-to-llvm, or its passes listed one by one: attn-lift-weights is what binds."""
    from attn_mlir.pipeline import Pipeline, make_pass

    text, w = linear(4, 1024, 512)
    listed = Pipeline(make_pass("attn-to-llvm", {"schedule": "loops"}).expand())
    assert not any(str(p) == "attn-to-llvm" for p in listed.items)
    for pipeline in ("builtin.module(attn-to-llvm{schedule=loops})", listed):
        fn = am.compile(text, pipeline=pipeline)
        assert len(fn.weights) == 1
        _check(fn, w)
