"""attn-widen-i1: boolean masks JIT-run through attn-to-llvm match numpy.

Without the pass these functions abort the process in MLIR's LLVM lowering
(1-bit memref stores), so numpy is the reference.
"""

import numpy as np

import attn_mlir as am

ID2 = "affine_map<(d0, d1) -> (d0, d1)>"

# mask = x > 0 (a generic producing i1), transposed (named op), combined with a
# constant i1 pattern (andi), reshaped and sliced/concatenated, then used by a select;
# a fill + andi reduction gives "row all masked", turned into a float.
MASKS = f"""
func.func @masks(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4xf32>) {{
  %zero = arith.constant 0.0 : f32
  %true = arith.constant true
  %pattern = arith.constant dense<[[true, false, true, true], [true, true, false, true],
                                   [false, true, true, true], [true, true, true, true]]> : tensor<4x4xi1>
  %e = tensor.empty() : tensor<4x4xi1>
  %m = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xi1>) {{
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf ogt, %in, %zero : f32
    linalg.yield %c : i1
  }} -> tensor<4x4xi1>
  %mt = linalg.transpose ins(%m : tensor<4x4xi1>) outs(%e : tensor<4x4xi1>) permutation = [1, 0]
  %both = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%mt, %pattern : tensor<4x4xi1>, tensor<4x4xi1>) outs(%e : tensor<4x4xi1>) {{
  ^bb0(%a: i1, %b: i1, %out: i1):
    %c = arith.andi %a, %b : i1
    linalg.yield %c : i1
  }} -> tensor<4x4xi1>
  %x3 = tensor.expand_shape %both [[0, 1], [2]] output_shape [1, 4, 4] : tensor<4x4xi1> into tensor<1x4x4xi1>
  %lo = tensor.extract_slice %x3[0, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<1x4x4xi1> to tensor<1x2x4xi1>
  %hi = tensor.extract_slice %x3[0, 2, 0] [1, 2, 4] [1, 1, 1] : tensor<1x4x4xi1> to tensor<1x2x4xi1>
  %swapped = tensor.concat dim(1) %hi, %lo : (tensor<1x2x4xi1>, tensor<1x2x4xi1>) -> tensor<1x4x4xi1>
  %mask = tensor.collapse_shape %swapped [[0, 1], [2]] : tensor<1x4x4xi1> into tensor<4x4xi1>
  %ef = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%mask, %x : tensor<4x4xi1>, tensor<4x4xf32>) outs(%ef : tensor<4x4xf32>) {{
  ^bb0(%k: i1, %in: f32, %out: f32):
    %s = arith.select %k, %in, %zero : f32
    linalg.yield %s : f32
  }} -> tensor<4x4xf32>
  %e1 = tensor.empty() : tensor<4xi1>
  %f = linalg.fill ins(%true : i1) outs(%e1 : tensor<4xi1>) -> tensor<4xi1>
  %all = linalg.generic {{indexing_maps = [{ID2}, affine_map<(d0, d1) -> (d0)>],
                         iterator_types = ["parallel", "reduction"]}}
      ins(%mask : tensor<4x4xi1>) outs(%f : tensor<4xi1>) {{
  ^bb0(%in: i1, %acc: i1):
    %a = arith.andi %in, %acc : i1
    linalg.yield %a : i1
  }} -> tensor<4xi1>
  %e4 = tensor.empty() : tensor<4xf32>
  %rowall = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                            iterator_types = ["parallel"]}}
      ins(%all : tensor<4xi1>) outs(%e4 : tensor<4xf32>) {{
  ^bb0(%b: i1, %out: f32):
    %v = arith.uitofp %b : i1 to f32
    linalg.yield %v : f32
  }} -> tensor<4xf32>
  return %r, %rowall : tensor<4x4xf32>, tensor<4xf32>
}}
"""

PATTERN = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]], dtype=bool)


def reference(x):
    mask = (x > 0).T & PATTERN
    mask = np.concatenate([mask[2:], mask[:2]])
    return np.where(mask, x, 0).astype(np.float32), mask.all(axis=1).astype(np.float32)


def test_masks_match_numpy():
    fn = am.compile(MASKS)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((4, 4)).astype(np.float32)
        x[:, 3] = np.abs(x[:, 3]) + 0.1  # mask row 3 (after the transpose) all true
        got = fn(x)
        for g, w in zip(got, reference(x)):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=0)


def test_all_true_row_is_detected():
    fn = am.compile(MASKS)
    x = np.ones((4, 4), np.float32)
    _, rowall = fn(x)
    np.testing.assert_array_equal(rowall, [0, 1, 0, 0])
    np.testing.assert_array_equal(rowall, reference(x)[1])
