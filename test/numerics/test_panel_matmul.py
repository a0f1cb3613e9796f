"""B panels (lowering/panel_matmul.py): a matmul whose B is packed into K x NR
panels computes the same C, with B an argument (packed per call) or a constant
(packed at compile time); matmuls it must not touch are left as they are."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.context import make_context
from attn_mlir.ir_utils import walk_ops
from attn_mlir.lowering import cpu_tiles
from attn_mlir.lowering.cpu_schedule import _in_loop
from attn_mlir.lowering.panel_matmul import MIN_ROWS, NARROW_BYTES, PANEL, pack_panels
from attn_mlir.source import parse_module

NR = cpu_tiles.panel_width()
# The narrowest panel multiple whose argument B is packed, not read in place
# (3 panels with AVX-512's NR = 32, 5 with AVX2's 16).
WIDE = NR * (NARROW_BYTES // (4 * NR) + 1)


def matmul(m, n, k, b_constant=None):
    b_arg = "" if b_constant is not None else f", %b: tensor<{k}x{n}xf32>"
    b_def = ""
    if b_constant is not None:
        b_def = (f'  %b = arith.constant dense<"0x{b_constant.tobytes().hex().upper()}"> '
                 f": tensor<{k}x{n}xf32>\n")
    return f"""func.func @main(%a: tensor<{m}x{k}xf32>{b_arg}) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
{b_def}  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul ins(%a, %b : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""


def panels(text):
    """(panel contractions, transposes) after the panel rewrite."""
    with make_context():
        module = parse_module(text, "<case>")
        pack_panels(module.operation, NR, _in_loop)
        ops = walk_ops(module.operation)
        return (sum(PANEL in op.attributes for op in ops),
                sum(op.name == "linalg.transpose" for op in ops))


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("m, n, k", [(MIN_ROWS, WIDE, 7), (131, WIDE + NR, 300), (200, 10 * NR, 33)])
def test_panels_keep_results(m, n, k, threads):
    assert panels(matmul(m, n, k)) == (1, 1)
    fn = am.compile(matmul(m, n, k), pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs)
    np.testing.assert_allclose(fn(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_constant_b_is_packed_at_compile_time():
    rng = np.random.default_rng(1)
    b = rng.standard_normal((45, 3 * NR)).astype(np.float32)
    text = matmul(100, 3 * NR, 45, b_constant=b)
    assert panels(text) == (1, 0)  # no per-call transpose: the panels are a constant
    fn = am.compile(text, pipeline="builtin.module(attn-to-llvm{threads=2})")
    (a,) = (rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs)
    np.testing.assert_allclose(fn(a), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_panels_not_applicable():
    """N not a multiple of NR, too few rows to pay for packing B, or an argument B
    narrow enough to be read in place: left alone."""
    assert panels(matmul(MIN_ROWS, WIDE + 1, 16)) == (0, 0)
    assert panels(matmul(MIN_ROWS - 1, WIDE, 16)) == (0, 0)
    narrow = NARROW_BYTES // 4
    assert narrow % NR == 0
    assert panels(matmul(MIN_ROWS, narrow, 16)) == (0, 0)
    assert panels(matmul(MIN_ROWS, narrow + NR, 16)) == (1, 1)
    # One panel is B itself (and its unit panel dim would be folded away).
    assert panels(matmul(MIN_ROWS, NR, 16, b_constant=np.ones((16, NR), np.float32))) == (0, 0)
    # A narrow constant B costs nothing to pack: it is packed at compile time.
    b = np.ones((16, narrow), np.float32)
    assert panels(matmul(MIN_ROWS, narrow, 16, b_constant=b)) == (1, 0)
