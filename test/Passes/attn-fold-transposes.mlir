// RUN: %attn_opt %s --split-input-file --attn-fold-transposes | FileCheck %s
// RUN: %attn_opt %s --split-input-file --attn-fold-transposes=max-weight-growth=2 | FileCheck %s --check-prefix=GROW
// RUN: %attn_opt %s --split-input-file --attn-fold-transposes 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: %attn_opt %fixtures/llama_mha.mlir --attn-fold-transposes --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s --check-prefix=MHA

// A constant weight [out, in] behind a transpose becomes a constant [in, out].
// CHECK-LABEL: func.func @constant_weight
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]] :
func.func @constant_weight(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<3x2xf32>) -> tensor<3x2xf32>
  %r = linalg.matmul ins(%x, %t : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// The original constant has another user, so folding adds a copy of its bytes:
// under the default budget (max-weight-growth=1, no growth) the transpose
// stays and a remark says why; a budget of 2 lets it fold.
// CHECK-LABEL: func.func @shared_constant_negative
// CHECK: linalg.transpose
// REMARK: remark: attn-fold-transposes: would grow constants by 16 bytes
// GROW-LABEL: func.func @shared_constant_negative
// GROW-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// GROW-DAG: %[[WT:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]>
// GROW-NOT: linalg.transpose
// GROW: return %[[WT]], %[[W]]
func.func @shared_constant_negative() -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
  return %t, %w : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// Q @ transpose(K): the matmul reads K through the map (m, n, k) -> (n, k).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @scores_k_transposed
// CHECK-SAME: (%[[Q:.*]]: tensor<4x8xf32>, %[[K:.*]]: tensor<4x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]] ins(%[[Q]], %[[K]] : tensor<4x8xf32>, tensor<4x8xf32>)
func.func @scores_k_transposed(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}

// -----

// The head form: collapse_shape(transpose(K, [0, 1, 3, 2])) feeding batch_matmul.
// CHECK-DAG: #[[B_RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @batch_scores_head_transpose
// CHECK-SAME: %[[K:[a-z0-9]+]]: tensor<1x2x4x8xf32>
// CHECK-NOT: linalg.transpose
// CHECK: %[[KC:.*]] = tensor.collapse_shape %[[K]] {{\[}}[0, 1], [2], [3]] : tensor<1x2x4x8xf32> into tensor<2x4x8xf32>
// CHECK: linalg.batch_matmul indexing_maps = [#{{.*}}, #[[B_RHS]], #{{.*}}] ins(%{{.*}}, %[[KC]] : tensor<2x4x8xf32>, tensor<2x4x8xf32>)
func.func @batch_scores_head_transpose(%q: tensor<2x4x8xf32>, %k: tensor<1x2x4x8xf32>) -> tensor<2x4x4xf32> {
  %e = tensor.empty() : tensor<1x2x8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<1x2x4x8xf32>) outs(%e : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2]
  %ktc = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<2x4x4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.batch_matmul ins(%q, %ktc : tensor<2x4x8xf32>, tensor<2x8x4xf32>) outs(%z : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %s : tensor<2x4x4xf32>
}

// -----

// The transpose has another user: the matmul reads K through its map anyway,
// the transpose stays for the returned value.
// CHECK-LABEL: func.func @transpose_with_other_user
// CHECK-SAME: (%[[Q:.*]]: tensor<4x8xf32>, %[[K:.*]]: tensor<4x8xf32>)
// CHECK: %[[KT:.*]] = linalg.transpose ins(%[[K]]
// CHECK: %[[S:.*]] = linalg.matmul indexing_maps = [{{.*}}] ins(%[[Q]], %[[K]] :
// CHECK: return %[[S]], %[[KT]]
func.func @transpose_with_other_user(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<8x4xf32>) {
  %e = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %s, %kt : tensor<4x4xf32>, tensor<8x4xf32>
}

// -----

// Must not fire: the transposed input is a runtime value and feeds no matmul.
// CHECK-LABEL: func.func @runtime_transpose_not_applicable
// CHECK: linalg.transpose
func.func @runtime_transpose_not_applicable(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%x : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// -----

// Must not fire: [1, 0, 2] on a batch_matmul operand moves the batch dim; only a
// swap of the last two dims is a transposed read.
// CHECK-LABEL: func.func @batch_permutation_not_applicable
// CHECK: linalg.transpose {{.*}} permutation = [1, 0, 2]
// CHECK: linalg.batch_matmul ins(
func.func @batch_permutation_not_applicable(%q: tensor<2x4x8xf32>, %v: tensor<8x2x4xf32>) -> tensor<2x4x4xf32> {
  %e = tensor.empty() : tensor<2x8x4xf32>
  %vt = linalg.transpose ins(%v : tensor<8x2x4xf32>) outs(%e : tensor<2x8x4xf32>) permutation = [1, 0, 2]
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<2x4x4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.batch_matmul ins(%q, %vt : tensor<2x4x8xf32>, tensor<2x8x4xf32>) outs(%z : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %s : tensor<2x4x4xf32>
}

// -----

// Must not fire: the collapse merges one of the transposed dims with another.
// CHECK-LABEL: func.func @collapse_of_swapped_dims_negative
// CHECK: linalg.transpose
// CHECK: tensor.collapse_shape
// CHECK: linalg.matmul ins(
func.func @collapse_of_swapped_dims_negative(%q: tensor<4x8xf32>, %k: tensor<2x4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<2x4x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x4xf32>) outs(%e : tensor<2x4x4xf32>) permutation = [0, 2, 1]
  %ktc = tensor.collapse_shape %kt [[0, 1], [2]] : tensor<2x4x4xf32> into tensor<8x4xf32>
  %c0 = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%o : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %ktc : tensor<4x8xf32>, tensor<8x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}

// On the torch-mlir fixture: the four weight transposes fold into constants, the
// K^T head transpose into the scores batch_matmul; the head transposes
// [0, 2, 1, 3] stay.
// MHA-LABEL: func.func @forward
// MHA-NOT: permutation = [1, 0]
// MHA-NOT: permutation = [0, 1, 3, 2]
// MHA: linalg.batch_matmul indexing_maps
// MHA-NOT: permutation = [1, 0]
