"""Epilogue fusion (lowering/epilogue_fusion.py, in attn-cpu-schedule): elementwise
consumers of matmuls run in the matmuls' thread tiles and compute the same values,
on IR written here (both kinds of product: named matmuls and panel contractions)
and on a transformers LlamaDecoderLayer export; every legality condition has a
case where the fusion must not fire."""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import rewrite_log
from attn_mlir.lowering import cpu_tiles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hf"


def t(*shape) -> str:
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def mlp(m, k, n, *, extra_result="", gate_map="#id", up_body="%r = arith.mulf %a, %b : f32"):
    """`silu(x @ wg) * (x @ wu)` written as torch-mlir writes SwiGLU (sigmoid, then
    two multiplies), and `x @ wd + bias + res`."""
    results = [t(m, n), t(m, n)] + ([t(m, n)] if extra_result else [])
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @main(%x: {t(m, k)}, %wg: {t(k, n)}, %wu: {t(k, n)}, %wd: {t(k, n)}, %bias: {t(n)},
                %res: {t(m, n)}) -> ({", ".join(results)}) {{
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : {t(m, n)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {t(m, n)}) -> {t(m, n)}
  %g = linalg.matmul ins(%x, %wg : {t(m, k)}, {t(k, n)}) outs(%z : {t(m, n)}) -> {t(m, n)}
  %u = linalg.matmul ins(%x, %wu : {t(m, k)}, {t(k, n)}) outs(%z : {t(m, n)}) -> {t(m, n)}
  %s = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%g : {t(m, n)}) outs(%e : {t(m, n)}) {{
  ^bb0(%a: f32, %o: f32):
    %na = arith.negf %a : f32
    %ex = math.exp %na : f32
    %den = arith.addf %ex, %one : f32
    %r = arith.divf %one, %den : f32
    linalg.yield %r : f32
  }} -> {t(m, n)}
  %gs = linalg.generic {{indexing_maps = [{gate_map}, #id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%g, %s : {t(m, n)}, {t(m, n)}) outs(%e : {t(m, n)}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  }} -> {t(m, n)}
  %h = linalg.generic {{indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%gs, %u : {t(m, n)}, {t(m, n)}) outs(%e : {t(m, n)}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    {up_body}
    linalg.yield %r : f32
  }} -> {t(m, n)}
  %d = linalg.matmul ins(%x, %wd : {t(m, k)}, {t(k, n)}) outs(%z : {t(m, n)}) -> {t(m, n)}
  %y = linalg.generic {{indexing_maps = [#id, #col, #id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%d, %bias, %res : {t(m, n)}, {t(n)}, {t(m, n)}) outs(%e : {t(m, n)}) {{
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %v = arith.addf %a, %b : f32
    %r = arith.addf %v, %c : f32
    linalg.yield %r : f32
  }} -> {t(m, n)}
  return %h, %y{extra_result} : {", ".join(results)}
}}"""


def reference(x, wg, wu, wd, bias, res):
    x = x.astype(np.float64)
    g = x @ wg
    return g / (1 + np.exp(-g)) * (x @ wu), x @ wd + bias + res


def fused(text, threads):
    """(compiled function, the fusion messages of the schedule)."""
    rewrite_log.current_log.clear()
    fn = am.compile(text, pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    messages = [e.message for e in rewrite_log.current_log.events
                if e.fired and "elementwise op(s)" in e.message]
    return fn, messages


def run(fn, seed=0):
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]
    return args, fn(*args)


# Row counts that fill the register tile of both hosts (8 rows with AVX-512, 6 with
# AVX2): fusion needs whole register tiles.
MR = cpu_tiles.register_tile(1 << 20, 1 << 20)[0]
# Named matmuls (M below the panels' minimum, or one panel wide), and panel
# contractions (M >= 64, N several panels wide; big enough for threads).
CASES = [(48, 48, 4 * cpu_tiles.panel_width(), 1), (72, 40, cpu_tiles.panel_width(), 1),
         (96, 256, 512, 2), (96, 256, 512, 1)]


@pytest.mark.parametrize("m, k, n, threads", CASES)
def test_chains_fuse_and_keep_results(m, k, n, threads):
    fn, messages = fused(mlp(m, k, n), threads)
    assert sorted(messages) == ["1 matmul(s) fused with 1 elementwise op(s)",
                                "2 matmul(s) fused with 3 elementwise op(s)"]
    args, (h, y) = run(fn)
    want_h, want_y = reference(*args)
    np.testing.assert_allclose(h, want_h, rtol=1e-4, atol=1e-4 * np.abs(want_h).max())
    np.testing.assert_allclose(y, want_y, rtol=1e-4, atol=1e-4 * np.abs(want_y).max())


def test_decoder_layer_export_fuses_residuals_and_swiglu():
    """transformers' LlamaDecoderLayer over 64 tokens: o_proj + residual, gate/up +
    SwiGLU and down_proj + residual each run as one loop, and the layer still matches
    PyTorch."""
    data = np.load(FIXTURES / "llama_decoder_layer_seq64.npz")
    fn, messages = fused((FIXTURES / "llama_decoder_layer_seq64.mlir").read_text(), 1)
    # 64 rows are not whole 6-row register tiles (AVX2): nothing fuses there.
    assert sorted(messages) == (["1 matmul(s) fused with 1 elementwise op(s)"] * 2 + [
        "2 matmul(s) fused with 3 elementwise op(s)"] if 64 % MR == 0 else [])
    got = fn(data["arg0"], data["arg1"])
    np.testing.assert_allclose(got, data["result0"], rtol=1e-4, atol=1e-5)


M, K, N = 96, 256, 512


def test_product_needed_whole_is_not_fused():
    """The gate product is also returned: it is computed whole and read from memory
    by the chain, which still runs in the up product's tiles."""
    text = mlp(M, K, N, extra_result=", %g")
    fn, messages = fused(text, 2)
    assert sorted(messages) == ["1 matmul(s) fused with 1 elementwise op(s)",
                                "1 matmul(s) fused with 3 elementwise op(s)"]
    args, (h, y, g) = run(fn)
    np.testing.assert_allclose(g, args[0].astype(np.float64) @ args[1], rtol=1e-4, atol=1e-3)
    want_h, _ = reference(*args)
    np.testing.assert_allclose(h, want_h, rtol=1e-4, atol=1e-4 * np.abs(want_h).max())


def test_chain_value_needed_whole_is_not_fused():
    """The sigmoid is also returned: it stays out of the chain, and so does the gate
    product it reads; the two multiplies still run in the up product's tiles."""
    fn, messages = fused(mlp(M, K, N, extra_result=", %s"), 2)
    assert sorted(messages) == ["1 matmul(s) fused with 1 elementwise op(s)",
                                "1 matmul(s) fused with 2 elementwise op(s)"]
    args, (h, y, s) = run(fn)
    want_h, _ = reference(*args)
    np.testing.assert_allclose(h, want_h, rtol=1e-4, atol=1e-4 * np.abs(want_h).max())


def test_transposed_read_is_not_fused():
    """A product read through a transposed map: its tiles are not the consumer's."""
    fn, messages = fused(mlp(M, K, M, gate_map="#tr"), 2)
    args, (h, y) = run(fn)
    x = args[0].astype(np.float64)
    g = x @ args[1]
    want_h = g.T / (1 + np.exp(-g)) * (x @ args[2])
    np.testing.assert_allclose(h, want_h, rtol=1e-4, atol=1e-4 * np.abs(want_h).max())
    assert "2 matmul(s) fused with 3 elementwise op(s)" not in messages


def test_reading_loop_indices_is_not_fused():
    """A body that reads linalg.index (the last multiply): its indices would change in
    the panel view; the chain before it still fuses with the gate product."""
    up = ("%i = linalg.index 1 : index\n    %ii = arith.index_cast %i : index to i32\n"
          "    %fi = arith.sitofp %ii : i32 to f32\n    %ab = arith.mulf %a, %b : f32\n"
          "    %r = arith.addf %ab, %fi : f32")
    fn, messages = fused(mlp(M, K, N, up_body=up), 2)
    assert sorted(messages) == ["1 matmul(s) fused with 1 elementwise op(s)",
                                "1 matmul(s) fused with 2 elementwise op(s)"]
    args, (h, y) = run(fn)
    want_h, _ = reference(*args)
    want_h = want_h + np.arange(N)
    np.testing.assert_allclose(h, want_h, rtol=1e-4, atol=1e-4 * np.abs(want_h).max())


def test_reduction_is_not_fused():
    """A row sum of the product is not elementwise."""
    text = f"""#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @main(%x: {t(M, K)}, %w: {t(K, N)}) -> tensor<{M}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {t(M, N)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {t(M, N)}) -> {t(M, N)}
  %p = linalg.matmul ins(%x, %w : {t(M, K)}, {t(K, N)}) outs(%z : {t(M, N)}) -> {t(M, N)}
  %er = tensor.empty() : tensor<{M}xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<{M}xf32>) -> tensor<{M}xf32>
  %r = linalg.generic {{indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}}
      ins(%p : {t(M, N)}) outs(%zr : tensor<{M}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }} -> tensor<{M}xf32>
  return %r : tensor<{M}xf32>
}}"""
    fn, messages = fused(text, 2)
    assert messages == []
    args, got = run(fn)
    np.testing.assert_allclose(got, (args[0].astype(np.float64) @ args[1]).sum(1), rtol=1e-4,
                               atol=1e-3)


@pytest.mark.parametrize("m, threads", [(100, 2), (44, 1)])
def test_rows_that_do_not_fill_register_tiles_are_not_fused(m, threads):
    """M not a multiple of the register tile: the products are split first."""
    fn, messages = fused(mlp(m, K, N), threads)
    assert messages == []
    args, (h, y) = run(fn)
    want_h, want_y = reference(*args)
    np.testing.assert_allclose(y, want_y, rtol=1e-4, atol=1e-4 * np.abs(want_y).max())


def test_products_too_small_for_threads_are_not_fused():
    fn, messages = fused(mlp(48, 16, 128), 2)
    assert messages == []
