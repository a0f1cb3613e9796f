"""The linalg.generic forms frontends emit, through attn-to-llvm, against numpy.

torch-mlir writes each elementwise op as its own generic with broadcast
indexing maps (`(d0, d1) -> (0, d1)`, `(d0, d1) -> ()`), scalar constants
captured from outside the body, and 0-d tensors for scalars.
"""

import numpy as np

import attn_mlir as am

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_broadcast_maps_and_captured_constant():
    # out[i, j] = (x[i, j] - row[0, j]) * col[i, 0] / 4.0 + bias[j]
    fn = am.compile("""
    #id = affine_map<(d0, d1) -> (d0, d1)>
    func.func @f(%x: tensor<3x5xf32>, %row: tensor<1x5xf32>, %col: tensor<3x1xf32>,
                 %bias: tensor<5xf32>) -> tensor<3x5xf32> {
      %four = arith.constant 4.0 : f32
      %e = tensor.empty() : tensor<3x5xf32>
      %r = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (0, d1)>,
                                            affine_map<(d0, d1) -> (d0, 0)>,
                                            affine_map<(d0, d1) -> (d1)>, #id],
                           iterator_types = ["parallel", "parallel"]}
          ins(%x, %row, %col, %bias : tensor<3x5xf32>, tensor<1x5xf32>, tensor<3x1xf32>, tensor<5xf32>)
          outs(%e : tensor<3x5xf32>) {
      ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %out: f32):
        %s = arith.subf %a, %b : f32
        %m = arith.mulf %s, %c : f32
        %q = arith.divf %m, %four : f32
        %t = arith.addf %q, %d : f32
        linalg.yield %t : f32
      } -> tensor<3x5xf32>
      return %r : tensor<3x5xf32>
    }""")
    x, row, col, bias = _rand(3, 5), _rand(1, 5), _rand(3, 1), _rand(5)
    np.testing.assert_allclose(fn(x, row, col, bias), (x - row) * col / 4.0 + bias,
                               rtol=1e-6, atol=1e-6)


def test_zero_d_tensor_constants_with_empty_maps():
    # torch-mlir's scalar constants: tensor<f32> read through `(d0, d1) -> ()`.
    fn = am.compile("""
    #id = affine_map<(d0, d1) -> (d0, d1)>
    #scalar = affine_map<(d0, d1) -> ()>
    func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %lo = arith.constant dense<-0.5> : tensor<f32>
      %hi = arith.constant dense<0.5> : tensor<f32>
      %e = tensor.empty() : tensor<2x3xf32>
      %r = linalg.generic {indexing_maps = [#id, #scalar, #scalar, #id],
                           iterator_types = ["parallel", "parallel"]}
          ins(%x, %lo, %hi : tensor<2x3xf32>, tensor<f32>, tensor<f32>) outs(%e : tensor<2x3xf32>) {
      ^bb0(%a: f32, %l: f32, %h: f32, %out: f32):
        %m = arith.maximumf %a, %l : f32
        %c = arith.minimumf %m, %h : f32
        linalg.yield %c : f32
      } -> tensor<2x3xf32>
      return %r : tensor<2x3xf32>
    }""")
    x = _rand(2, 3)
    np.testing.assert_array_equal(fn(x), np.clip(x, -0.5, 0.5))


def test_zero_d_tensor_argument_and_result():
    fn = am.compile("""
    func.func @f(%s: tensor<f32>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<f32>) {
      %e = tensor.empty() : tensor<4xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>,
                                            affine_map<(d0) -> (d0)>],
                           iterator_types = ["parallel"]}
          ins(%s, %x : tensor<f32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
      ^bb0(%a: f32, %b: f32, %out: f32):
        %m = arith.mulf %a, %b : f32
        linalg.yield %m : f32
      } -> tensor<4xf32>
      %zero = arith.constant dense<0.0> : tensor<f32>
      %sum = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                             iterator_types = ["reduction"]}
          ins(%r : tensor<4xf32>) outs(%zero : tensor<f32>) {
      ^bb0(%a: f32, %acc: f32):
        %t = arith.addf %a, %acc : f32
        linalg.yield %t : f32
      } -> tensor<f32>
      return %r, %sum : tensor<4xf32>, tensor<f32>
    }""")
    s, x = np.array(3.0, np.float32), _rand(4)
    scaled, total = fn(s, x)
    assert total.shape == ()
    np.testing.assert_allclose(scaled, 3.0 * x, rtol=1e-6)
    np.testing.assert_allclose(total, np.sum(3.0 * x), rtol=1e-5, atol=1e-6)
    # Calling the function again must not see the previous call's accumulator.
    np.testing.assert_allclose(fn(s, x)[1], total, rtol=1e-6)


def test_scalar_captured_from_function_argument_tensor():
    # A value extracted from a 0-d tensor and used inside the body as a captured scalar.
    fn = am.compile("""
    func.func @f(%s: tensor<f32>, %x: tensor<2x2xf32>) -> tensor<2x2xf32> {
      %v = tensor.extract %s[] : tensor<f32>
      %e = tensor.empty() : tensor<2x2xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>,
                                            affine_map<(d0, d1) -> (d0, d1)>],
                           iterator_types = ["parallel", "parallel"]}
          ins(%x : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
      ^bb0(%a: f32, %out: f32):
        %m = arith.addf %a, %v : f32
        linalg.yield %m : f32
      } -> tensor<2x2xf32>
      return %r : tensor<2x2xf32>
    }""")
    x = _rand(2, 2)
    np.testing.assert_allclose(fn(np.array(-1.5, np.float32), x), x.T - 1.5, rtol=1e-6)
