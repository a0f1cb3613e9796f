"""Function results through buffer-results-to-out-params: inputs, constants, several results."""

import numpy as np
import pytest

import attn_mlir as am

A = np.arange(4, dtype=np.float32)
B = np.array([10.0, -1.0, 0.5, 2.0], np.float32)


def test_returns_its_argument():
    fn = am.compile("""
    func.func @ident(%a: tensor<4xf32>) -> tensor<4xf32> {
      return %a : tensor<4xf32>
    }""")
    out = fn(A)
    np.testing.assert_array_equal(out, A)
    assert not np.shares_memory(out, A)  # a copy into the caller's out-parameter


def test_returns_a_constant():
    fn = am.compile("""
    func.func @const(%a: tensor<4xf32>) -> tensor<4xf32> {
      %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
      return %c : tensor<4xf32>
    }""")
    first = fn(A)
    first[:] = 0  # the result is the caller's: writing it must not change the constant
    np.testing.assert_array_equal(fn(A), [1, 2, 3, 4])


def test_two_results():
    fn = am.compile("""
    func.func @two(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
      %e = tensor.empty() : tensor<4xf32>
      %s = linalg.add ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      return %s, %a : tensor<4xf32>, tensor<4xf32>
    }""")
    total, first = fn(A, B)
    np.testing.assert_allclose(total, A + B)
    np.testing.assert_array_equal(first, A)


def test_same_value_returned_twice():
    fn = am.compile("""
    func.func @same(%a: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
      return %a, %a : tensor<2x2xf32>, tensor<2x2xf32>
    }""")
    x = A.reshape(2, 2)
    one, two = fn(x)
    np.testing.assert_array_equal(one, x)
    np.testing.assert_array_equal(two, x)
    assert not np.shares_memory(one, two)


@pytest.mark.parametrize("dtype, mlir", [(np.float64, "f64"), (np.int32, "i32"), (np.int64, "i64")])
def test_other_element_types(dtype, mlir):
    fn = am.compile(f"""
    func.func @add(%a: tensor<4x{mlir}>, %b: tensor<4x{mlir}>) -> tensor<4x{mlir}> {{
      %e = tensor.empty() : tensor<4x{mlir}>
      %s = linalg.add ins(%a, %b : tensor<4x{mlir}>, tensor<4x{mlir}>) outs(%e : tensor<4x{mlir}>) -> tensor<4x{mlir}>
      return %s : tensor<4x{mlir}>
    }}""")
    a, b = A.astype(dtype), B.astype(dtype)
    np.testing.assert_array_equal(fn(a, b), a + b)


DYNAMIC_ROWS = """
func.func @column_sums(%a: tensor<?x4xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
                       iterator_types = ["reduction", "parallel"]}
      ins(%a : tensor<?x4xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


@pytest.mark.parametrize("rows", [1, 3, 17])
def test_dynamic_argument_dims_come_from_each_call(rows):
    fn = am.compile(DYNAMIC_ROWS)
    a = np.random.default_rng(rows).standard_normal((rows, 4)).astype(np.float32)
    np.testing.assert_allclose(fn(a), a.sum(axis=0), rtol=1e-5, atol=1e-5)


def test_non_contiguous_and_read_only_inputs():
    fn = am.compile(DYNAMIC_ROWS)
    a = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    view = a[:, ::2]  # strided view: copied to a contiguous array
    frozen = a[:3, :4].copy()
    frozen.setflags(write=False)
    np.testing.assert_allclose(fn(view), view.sum(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fn(frozen), frozen.sum(axis=0), rtol=1e-5, atol=1e-5)
