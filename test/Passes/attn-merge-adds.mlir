// RUN: %attn_opt %s --split-input-file --attn-merge-adds | FileCheck %s

// y*c1 + y*c2 -> y*(c1+c2)
// CHECK-LABEL: func.func @common_factor
// CHECK: %[[C:.*]] = arith.constant dense<[3.000000e+00, 5.000000e+00, 7.000000e+00, 9.000000e+00]> : tensor<4xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%arg0, %[[C]] : tensor<2x4xf32>, tensor<4xf32>)
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @common_factor(%y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %c1 = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c2 = arith.constant dense<[2.0, 3.0, 4.0, 5.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %c1 : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %c: f32, %o: f32):
    %m = arith.mulf %i, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%c2, %y : tensor<4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%c: f32, %i: f32, %o: f32):
    %m = arith.mulf %c, %i : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

// Captured scalar factors merge into one scalar.
// CHECK-LABEL: func.func @common_scalar_factor
// CHECK: arith.constant 7.500000e-01 : f32
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @common_scalar_factor(%y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %c1 = arith.constant 0.5 : f32
  %c2 = arith.constant 0.25 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c1 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c2 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

// x@A + x@B -> x@(A+B), also after the same head split on both sides.
// CHECK-LABEL: func.func @horizontal_projections
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}3.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 3.000000e+00
// CHECK: %[[M:.*]] = linalg.matmul ins(%arg0, %[[W]] : tensor<2x4xf32>, tensor<4x4xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[M]]
// CHECK: linalg.transpose ins(%[[E]]
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @horizontal_projections(%x: tensor<2x4xf32>) -> tensor<2x2x2xf32> {
  %wa = arith.constant dense<[[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 2.0]]> : tensor<4x4xf32>
  %wb = arith.constant dense<1.0> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %ya = linalg.matmul ins(%x, %wa : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %yb = linalg.matmul ins(%x, %wb : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %ha = tensor.expand_shape %ya [[0], [1, 2]] output_shape [2, 2, 2] : tensor<2x4xf32> into tensor<2x2x2xf32>
  %hb = tensor.expand_shape %yb [[0], [1, 2]] output_shape [2, 2, 2] : tensor<2x4xf32> into tensor<2x2x2xf32>
  %e3 = tensor.empty() : tensor<2x2x2xf32>
  %ta = linalg.transpose ins(%ha : tensor<2x2x2xf32>) outs(%e3 : tensor<2x2x2xf32>) permutation = [1, 0, 2]
  %tb = linalg.transpose ins(%hb : tensor<2x2x2xf32>) outs(%e3 : tensor<2x2x2xf32>) permutation = [1, 0, 2]
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ta, %tb : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%e3 : tensor<2x2x2xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %s : tensor<2x2x2xf32>
}

// -----

// Different factors on different values: nothing in common.
// CHECK-LABEL: func.func @different_values_not_applicable
// CHECK-COUNT-3: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @different_values_not_applicable(%y: tensor<2x4xf32>, %z: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %c1 = arith.constant 0.5 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c1 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%z : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c1 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

// A product with another user must stay, so merging saves nothing.
// CHECK-LABEL: func.func @product_used_twice_not_applicable
// CHECK-COUNT-3: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @product_used_twice_not_applicable(%y: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %c1 = arith.constant 0.5 : f32
  %c2 = arith.constant 0.25 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c1 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %c2 : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s, %a : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Projections of different inputs cannot share a matmul.
// CHECK-LABEL: func.func @different_inputs_not_applicable
// CHECK-COUNT-2: linalg.matmul
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @different_inputs_not_applicable(%x: tensor<2x4xf32>, %x2: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %ya = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %yb = linalg.matmul ins(%x2, %w : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%ya, %yb : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

// Different token rows (one side transposed over tokens): no common matmul.
// CHECK-LABEL: func.func @mismatched_rows_negative
// CHECK-COUNT-2: linalg.matmul
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @mismatched_rows_negative(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %w2 = arith.constant dense<2.0> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ya = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  %yb = linalg.matmul ins(%x, %w2 : tensor<4x4xf32>, tensor<4x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  %tb = linalg.transpose ins(%yb : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%ya, %tb : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}

// -----

// Must not fire: one side accumulates into 1.0 (x@A + 1 + x@B is not x@(A+B)).
// CHECK-LABEL: func.func @nonzero_init_not_applicable
// CHECK-COUNT-2: linalg.matmul
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @nonzero_init_not_applicable(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wa = arith.constant dense<[[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 2.0]]> : tensor<4x4xf32>
  %wb = arith.constant dense<1.0> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %o = linalg.fill ins(%one : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %ya = linalg.matmul ins(%x, %wa : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %yb = linalg.matmul ins(%x, %wb : tensor<2x4xf32>, tensor<4x4xf32>) outs(%o : tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%ya, %yb : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %q: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}
