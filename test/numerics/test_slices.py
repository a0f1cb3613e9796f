"""Slices with a stride along a dimension of size 1 (normalize/slices.py).

Found by the fuzzer (seed 2031, case 713; seed 2032, case 269): a rank-reducing
`tensor.extract_slice` with stride 2 (or a dynamic stride) along a dropped unit
dimension made MLIR assert after bufferization ("unable to find unused dims of
subview"), killing the process.
Normalization makes such strides 1; the results must be those of numpy.
"""

import numpy as np
import pytest

import attn_mlir

SLICES = """
func.func @f(%t: tensor<2x2x3x1xf32>, %u: tensor<2x2x1xf32>) -> (tensor<2x2x1xf32>, tensor<2x2x3x1xf32>) {
  %c2 = arith.constant 2 : index
  %three = tensor.dim %t, %c2 : tensor<2x2x3x1xf32>
  %a0 = tensor.extract_slice %t[0, 0, 2, 0] [2, 2, 1, 1] [1, 1, 2, 1] : tensor<2x2x3x1xf32> to tensor<2x2x1xf32>
  %a1 = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 1] [1, 1, %three, 1] : tensor<2x2x3x1xf32> to tensor<2x2x1xf32>
  %e = tensor.empty() : tensor<2x2x1xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%a0, %a1, %u : tensor<2x2x1xf32>, tensor<2x2x1xf32>, tensor<2x2x1xf32>) outs(%e : tensor<2x2x1xf32>) {
  ^bb0(%x: f32, %z: f32, %y: f32, %o: f32):
    %xz = arith.addf %x, %z : f32
    %r = arith.addf %xz, %y : f32
    linalg.yield %r : f32
  } -> tensor<2x2x1xf32>
  %d = tensor.insert_slice %s into %t[0, 0, 1, 0] [2, 2, 1, 1] [1, 1, 7, 1] : tensor<2x2x1xf32> into tensor<2x2x3x1xf32>
  return %s, %d : tensor<2x2x1xf32>, tensor<2x2x3x1xf32>
}
"""


@pytest.mark.parametrize("schedule", ["cpu", "loops"])
def test_unit_dim_strides_compile_and_match_numpy(schedule):
    fn = attn_mlir.compile(SLICES, pipeline=f"builtin.module(attn-to-llvm{{schedule={schedule}}})")
    rng = np.random.default_rng(0)
    t = rng.standard_normal((2, 2, 3, 1)).astype(np.float32)
    u = rng.standard_normal((2, 2, 1)).astype(np.float32)
    s, d = fn(t, u)
    want_s = t[:, :, 2, :] + t[:, :, 0, :] + u
    want_d = t.copy()
    want_d[:, :, 1, :] = want_s
    np.testing.assert_allclose(s, want_s, rtol=1e-6)
    np.testing.assert_allclose(d, want_d, rtol=1e-6)
