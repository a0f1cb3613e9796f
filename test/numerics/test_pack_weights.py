"""Constant contraction operands (weights) are packed into the kernel's layout at
compile time: `x @ transpose(W)` and matmuls reading a constant through a
transposed map get a new constant in the plain layout, so no transpose runs
per call. Numerics against numpy; the IR after packing holds no transpose of
a constant; operands computed by arithmetic, or passed as arguments, are not
evaluated."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.context import make_context
from attn_mlir.ir_utils import walk_ops
from attn_mlir.linalg_match import producer
from attn_mlir.lowering.pack_operands import pack_constant_operands, pack_transposed_operands
from attn_mlir.source import parse_module

M, N, K = 37, 45, 29
RNG = np.random.default_rng(0)
W = RNG.standard_normal((N, K)).astype(np.float32)       # stored transposed: [N, K]
A_T = RNG.standard_normal((K, M)).astype(np.float32)     # a constant left operand, stored [K, M]

TRANSPOSED_B = ("affine_map<(d0, d1, d2) -> (d0, d2)>", "affine_map<(d0, d1, d2) -> (d1, d2)>")
TRANSPOSED_BOTH = ("affine_map<(d0, d1, d2) -> (d2, d0)>", "affine_map<(d0, d1, d2) -> (d1, d2)>")
OUT_MAP = "affine_map<(d0, d1, d2) -> (d0, d1)>"


def dense(array):
    t = "x".join(map(str, array.shape)) + "xf32"
    return f'dense<"0x{array.tobytes().hex().upper()}"> : tensor<{t}>'


def head(args):
    return f"""func.func @main({args}) -> tensor<{M}x{N}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{M}x{N}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
"""


CASES = {
    # torch-mlir's x @ W^T: a linalg.transpose of the constant weight.
    "transpose_op": head(f"%x: tensor<{M}x{K}xf32>") + f"""  %w = arith.constant {dense(W)}
  %ew = tensor.empty() : tensor<{K}x{N}xf32>
  %wt = linalg.transpose ins(%w : tensor<{N}x{K}xf32>) outs(%ew : tensor<{K}x{N}xf32>) permutation = [1, 0]
  %r = linalg.matmul ins(%x, %wt : tensor<{M}x{K}xf32>, tensor<{K}x{N}xf32>) outs(%z : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %r : tensor<{M}x{N}xf32>
}}""",
    # attn-fold-transposes' form: the constant read through a transposed map.
    "transposed_map": head(f"%x: tensor<{M}x{K}xf32>") + f"""  %w = arith.constant {dense(W)}
  %r = linalg.matmul indexing_maps = [{TRANSPOSED_B[0]}, {TRANSPOSED_B[1]}, {OUT_MAP}] ins(%x, %w : tensor<{M}x{K}xf32>, tensor<{N}x{K}xf32>) outs(%z : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %r : tensor<{M}x{N}xf32>
}}""",
    # A constant left operand packed at compile time, a transposed argument packed per call.
    "constant_and_argument": head(f"%b: tensor<{N}x{K}xf32>") + f"""  %a = arith.constant {dense(A_T)}
  %r = linalg.matmul indexing_maps = [{TRANSPOSED_BOTH[0]}, {TRANSPOSED_BOTH[1]}, {OUT_MAP}] ins(%a, %b : tensor<{K}x{M}xf32>, tensor<{N}x{K}xf32>) outs(%z : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %r : tensor<{M}x{N}xf32>
}}""",
}


def reference(name, arg):
    arg = arg.astype(np.float64)
    if name == "constant_and_argument":
        return A_T.T.astype(np.float64) @ arg.T
    return arg @ W.T.astype(np.float64)


def packed(text):
    """The module after constant and per-call packing, and its transposes' sources."""
    with make_context():
        module = parse_module(text, "<case>")
        pack_constant_operands(module.operation)
        pack_transposed_operands(module.operation)
        sources = [producer(op.operands[0]) for op in walk_ops(module.operation, "linalg.transpose")]
        matmuls = walk_ops(module.operation, "linalg.matmul")
        return ([s.name if s is not None else "argument" for s in sources],
                ["indexing_maps" in op.attributes for op in matmuls])


@pytest.mark.parametrize("name", sorted(CASES))
def test_constant_operands_are_packed_at_compile_time(name):
    transposed, has_maps = packed(CASES[name])
    want = ["argument"] if name == "constant_and_argument" else []
    assert transposed == want, transposed
    assert has_maps == [False]


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("name", sorted(CASES))
def test_packed_constants_keep_results(name, threads):
    fn = am.compile(CASES[name], pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    (arg,) = [np.random.default_rng(1).standard_normal(s.shape).astype(np.float32)
              for s in fn.arg_specs]
    np.testing.assert_allclose(fn(arg), reference(name, arg), rtol=1e-4, atol=1e-4)


def test_computed_operands_are_not_evaluated():
    """An operand computed by arithmetic from a constant is not a layout change:
    it stays an op (evaluated per call), and so does a transposed argument."""
    text = head(f"%x: tensor<{M}x{K}xf32>, %y: tensor<{N}x{K}xf32>") + f"""  %w = arith.constant {dense(W)}
  %ew = tensor.empty() : tensor<{N}x{K}xf32>
  %w2 = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}} ins(%w : tensor<{N}x{K}xf32>) outs(%ew : tensor<{N}x{K}xf32>) {{
  ^bb0(%in: f32, %out: f32):
    %d = arith.mulf %in, %in : f32
    linalg.yield %d : f32
  }} -> tensor<{N}x{K}xf32>
  %r1 = linalg.matmul indexing_maps = [{TRANSPOSED_B[0]}, {TRANSPOSED_B[1]}, {OUT_MAP}] ins(%x, %w2 : tensor<{M}x{K}xf32>, tensor<{N}x{K}xf32>) outs(%z : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %r = linalg.matmul indexing_maps = [{TRANSPOSED_B[0]}, {TRANSPOSED_B[1]}, {OUT_MAP}] ins(%x, %y : tensor<{M}x{K}xf32>, tensor<{N}x{K}xf32>) outs(%r1 : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %r : tensor<{M}x{N}xf32>
}}"""
    with make_context():
        module = parse_module(text, "<case>")
        assert pack_constant_operands(module.operation) == 0
    transposed, _ = packed(text)
    assert transposed == ["linalg.generic", "argument"]
    fn = am.compile(text, pipeline="builtin.module(attn-to-llvm{threads=1})")
    x, y = (np.random.default_rng(2).standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs)
    w2 = W.astype(np.float64) ** 2
    np.testing.assert_allclose(fn(x, y), x.astype(np.float64) @ w2.T + x.astype(np.float64) @ y.T,
                               rtol=1e-4, atol=1e-3)


def one_row(k, n, w_layout="kn", m=1, constant=True):
    """x @ W with W a constant stored [k, n] ("kn") or torch's [n, k] read as W^T ("nk")."""
    w = np.random.default_rng(3).standard_normal((k, n)).astype(np.float32)
    stored = w if w_layout == "kn" else np.ascontiguousarray(w.T)
    shape = f"{stored.shape[0]}x{stored.shape[1]}"
    w_arg = "" if constant else f", %w: tensor<{shape}xf32>"
    w_def = f'  %w = arith.constant {dense(stored)}\n' if constant else ""
    maps = "" if w_layout == "kn" else (
        "indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
        "affine_map<(m, n, k) -> (m, n)>] ")
    text = f"""func.func @main(%x: tensor<{m}x{k}xf32>{w_arg}) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
{w_def}  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul {maps}ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{shape}xf32>) outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""
    return text, w


def row_packed(text):
    """Whether the matmul reads a constant through the transposed map, and is a dot form."""
    from attn_mlir.lowering.cpu_schedule import DOT_K, DOT_ROWS, dot_form
    from attn_mlir.lowering.pack_operands import pack_row_operands

    with make_context():
        module = parse_module(text, "<case>")
        count = pack_row_operands(module.operation,
                                  lambda k, n: k % DOT_K == 0 and n % DOT_ROWS == 0)
        pack_constant_operands(module.operation, dot_form)
        [op] = walk_ops(module.operation, "linalg.matmul")
        return count, dot_form(op)


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("w_layout", ("kn", "nk"))
def test_one_row_weights_take_the_dot_form(w_layout, threads):
    text, w = one_row(256, 72, w_layout)
    assert row_packed(text) == (1, True)
    fn = am.compile(text, pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    x = np.random.default_rng(4).standard_normal((1, 256)).astype(np.float32)
    np.testing.assert_allclose(fn(x), x.astype(np.float64) @ w, rtol=1e-4, atol=1e-4)


def test_one_row_weights_not_repacked():
    """K not a multiple of 64, N not of 8, two rows, W an argument: left as they were."""
    assert row_packed(one_row(96, 72)[0]) == (0, False)
    assert row_packed(one_row(128, 12)[0]) == (0, False)
    assert row_packed(one_row(128, 16, m=2)[0]) == (0, False)
    assert row_packed(one_row(128, 16, constant=False)[0]) == (0, False)
