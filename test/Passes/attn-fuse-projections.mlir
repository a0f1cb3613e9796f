// RUN: %attn_opt %s --split-input-file --attn-fuse-projections | FileCheck %s
// RUN: %attn_opt %fixtures/gqa.mlir --attn-fold-transposes --attn-fuse-projections --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s --check-prefix=GQA

// Q, K, V of one input: one matmul on [Wq | Wk | Wv], then column slices.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 5.000000e+00, 9.000000e+00], [3.000000e+00, 4.000000e+00, 6.000000e+00, 1.000000e+01]]> : tensor<2x4xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<3x2xf32>, tensor<2x4xf32>) outs(%[[FILL]] : tensor<3x4xf32>)
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[P]][0, 0] [3, 2] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[P]][0, 2] [3, 1] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[P]][0, 3] [3, 1] [1, 1]
// CHECK-NOT: linalg.matmul
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x1xf32>) {
  %c0 = arith.constant 0.0 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wk = arith.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32>
  %wv = arith.constant dense<[[9.0], [10.0]]> : tensor<2x1xf32>
  %e2 = tensor.empty() : tensor<3x2xf32>
  %z2 = linalg.fill ins(%c0 : f32) outs(%e2 : tensor<3x2xf32>) -> tensor<3x2xf32>
  %e1 = tensor.empty() : tensor<3x1xf32>
  %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<3x1xf32>) -> tensor<3x1xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z2 : tensor<3x2xf32>) -> tensor<3x2xf32>
  %k = linalg.matmul ins(%x, %wk : tensor<3x2xf32>, tensor<2x1xf32>) outs(%z1 : tensor<3x1xf32>) -> tensor<3x1xf32>
  %v = linalg.matmul ins(%x, %wv : tensor<3x2xf32>, tensor<2x1xf32>) outs(%z1 : tensor<3x1xf32>) -> tensor<3x1xf32>
  return %q, %k, %v : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

// Must not fire: the two matmuls read different inputs (like the output projection).
// CHECK-LABEL: func.func @different_lhs_not_applicable
// CHECK-COUNT-2: linalg.matmul ins
// CHECK-NOT: tensor.extract_slice
func.func @different_lhs_not_applicable(%x: tensor<3x2xf32>, %y: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  %b = linalg.matmul ins(%y, %w2 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a, %b : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Must not fire: no token, so the results are empty (a slice could not start in them).
// CHECK-LABEL: func.func @no_token_not_applicable
// CHECK-COUNT-2: linalg.matmul ins
// CHECK-NOT: tensor.extract_slice
func.func @no_token_not_applicable(%x: tensor<0x2xf32>) -> (tensor<0x2xf32>, tensor<0x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<0x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<0x2xf32>) -> tensor<0x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<0x2xf32>, tensor<2x2xf32>) outs(%z : tensor<0x2xf32>) -> tensor<0x2xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<0x2xf32>, tensor<2x2xf32>) outs(%z : tensor<0x2xf32>) -> tensor<0x2xf32>
  return %a, %b : tensor<0x2xf32>, tensor<0x2xf32>
}

// -----

// Must not fire: one weight is a runtime value (a function argument).
// CHECK-LABEL: func.func @runtime_weight_not_applicable
// CHECK-COUNT-2: linalg.matmul ins
// CHECK-NOT: tensor.extract_slice
func.func @runtime_weight_not_applicable(%x: tensor<3x2xf32>, %w2: tensor<2x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a, %b : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Must not fire: a single projection.
// CHECK-LABEL: func.func @single_matmul_not_applicable
// CHECK: linalg.matmul ins
// CHECK-NOT: tensor.extract_slice
func.func @single_matmul_not_applicable(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a : tensor<3x2xf32>
}

// -----

// Must not fire: the same input is contracted over different dims (the second
// matmul reads it transposed: K = 3, not 2).
// CHECK-LABEL: func.func @mismatched_k_not_applicable
// CHECK: linalg.matmul ins
// CHECK: linalg.matmul indexing_maps
// CHECK-NOT: tensor.extract_slice
func.func @mismatched_k_not_applicable(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %b = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%x, %w2 : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %a, %b : tensor<2x2xf32>, tensor<2x2xf32>
}

// On the torch-mlir GQA fixture (after attn-fold-transposes): q (64 wide), k and
// v (32 wide each) become one 64x128 matmul; the output projection stays.
// GQA-LABEL: func.func @forward
// GQA: %[[P:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<64x128xf32>)
// GQA: tensor.extract_slice %[[P]][0, 0] [16, 64]
// GQA: tensor.extract_slice %[[P]][0, 64] [16, 32]
// GQA: tensor.extract_slice %[[P]][0, 96] [16, 32]
// GQA: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<64x64xf32>)

// -----

// Equal non-zero inits fuse: every slice of x@[W1|W2] + 2 is x@Wi + 2.
// CHECK-LABEL: func.func @equal_nonzero_inits
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: linalg.matmul ins(%arg0, %{{.*}} : tensor<3x2xf32>, tensor<2x4xf32>) outs(%[[F]] : tensor<3x4xf32>)
func.func @equal_nonzero_inits(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %two = arith.constant 2.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%two : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a, %b : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Must not fire: different inits (0 and 1) cannot share one fused init.
// CHECK-LABEL: func.func @different_inits_not_applicable
// CHECK-COUNT-2: linalg.matmul ins(%arg0
func.func @different_inits_not_applicable(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %o = linalg.fill ins(%one : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<3x2xf32>, tensor<2x2xf32>) outs(%o : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a, %b : tensor<3x2xf32>, tensor<3x2xf32>
}
