// RUN: %attn_opt %s --split-input-file --attn-fold-score-scale | FileCheck %s
// RUN: %attn_opt %s --split-input-file --attn-fold-score-scale --verify-diagnostics
// RUN: %attn_opt %s --split-input-file --attn-fold-score-scale=max-weight-growth=2 | FileCheck %s --check-prefix=GROW
// RUN: %attn_opt %fixtures/llama_single_head.mlir --attn-fold-transposes --attn-fold-score-scale | FileCheck %s --check-prefix=LLAMA
// RUN: %attn_opt %fixtures/causal_sdpa.mlir --attn-fold-transposes --attn-fold-score-scale | FileCheck %s --check-prefix=SDPA

#id = affine_map<(d0, d1) -> (d0, d1)>

// (x @ Wq) @ K^T * 0.5 == (x @ (0.5 * Wq)) @ K^T; the scale generic disappears.
// CHECK-LABEL: func.func @scores_times_scalar
// CHECK-SAME: (%[[X:.*]]: tensor<2x2xf32>, %[[K:.*]]: tensor<2x2xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK: %[[Q:.*]] = linalg.matmul ins(%[[X]], %[[W]] :
// CHECK: %[[S:.*]] = linalg.matmul indexing_maps = {{.*}} ins(%[[Q]], %[[K]] :
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]
func.func @scores_times_scalar(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>

// Division by a 0-d constant after a 3-D head layout (expand + transpose).
// CHECK-LABEL: func.func @scores_over_constant_through_heads
// CHECK: arith.constant dense<{{\[}}[2.500000e-01, 5.000000e-01], [7.500000e-01, 1.000000e+00]]>
// CHECK-NOT: arith.divf
func.func @scores_over_constant_through_heads(%x: tensor<2x2xf32>, %kt: tensor<2x1x2xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %d = arith.constant dense<4.0> : tensor<f32>
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %qe = tensor.expand_shape %q [[0], [1, 2]] output_shape [2, 2, 1] : tensor<2x2xf32> into tensor<2x2x1xf32>
  %et = tensor.empty() : tensor<2x2x1xf32>
  %qh = linalg.transpose ins(%qe : tensor<2x2x1xf32>) outs(%et : tensor<2x2x1xf32>) permutation = [1, 0, 2]
  %e3 = tensor.empty() : tensor<2x2x2xf32>
  %z3 = linalg.fill ins(%c0 : f32) outs(%e3 : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul ins(%qh, %kt : tensor<2x2x1xf32>, tensor<2x1x2xf32>) outs(%z3 : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> ()>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s, %d : tensor<2x2x2xf32>, tensor<f32>) outs(%e3 : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %dv: f32, %out: f32):
    %m = arith.divf %in, %dv : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Rotary embedding with runtime cos/sin is linear in q:
// q * cos + concat(-q[:, 1:], q[:, :1]) * sin, then the scores, then * 0.5.
// CHECK-LABEL: func.func @scale_through_rotary
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK-NOT: %cst_{{.*}} = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00]
// CHECK: arith.negf
// CHECK: arith.addf
// CHECK-NOT: arith.mulf %in, %half
func.func @scale_through_rotary(%x: tensor<2x2xf32>, %kt: tensor<2x2xf32>, %cos: tensor<2x2xf32>, %sin: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %qc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%q, %cos : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %lo = tensor.extract_slice %q[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %hi = tensor.extract_slice %q[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %e1 = tensor.empty() : tensor<2x1xf32>
  %nhi = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
           ins(%hi : tensor<2x1xf32>) outs(%e1 : tensor<2x1xf32>) {
  ^bb0(%a: f32, %out: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<2x1xf32>
  %rot = tensor.concat dim(1) %nhi, %lo : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%rot, %sin : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %qr = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%qc, %rs : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %s = linalg.matmul ins(%qr, %kt : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: the query weight is a function argument (the key weight is
// constant, but the scale only moves to the query side).
// CHECK-LABEL: func.func @runtime_query_weight_not_applicable
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @runtime_query_weight_not_applicable(%x: tensor<2x2xf32>, %wq: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wk = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %k = linalg.matmul ins(%x, %wk : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: no token, so q is empty and reads no column of Wq (nothing to scale;
// the scale stays, on an empty tensor).
// CHECK-LABEL: func.func @no_token_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @no_token_not_applicable(%x: tensor<0x2xf32>, %kt: tensor<2x2xf32>) -> tensor<0x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<0x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<0x2xf32>) -> tensor<0x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<0x2xf32>, tensor<2x2xf32>) outs(%z : tensor<0x2xf32>) -> tensor<0x2xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<0x2xf32>, tensor<2x2xf32>) outs(%z : tensor<0x2xf32>) -> tensor<0x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<0x2xf32>) outs(%e : tensor<0x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<0x2xf32>
  return %r : tensor<0x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: the unscaled scores are returned too.
// CHECK-LABEL: func.func @scores_other_user_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @scores_other_user_not_applicable(%x: tensor<2x2xf32>, %kt: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r, %s : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: a per-element factor is not a uniform scale.
// CHECK-LABEL: func.func @non_uniform_scale_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @non_uniform_scale_not_applicable(%x: tensor<2x2xf32>, %kt: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %f = arith.constant dense<[[0.5, 0.25], [0.5, 0.25]]> : tensor<2x2xf32>
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s, %f : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %fv: f32, %out: f32):
    %m = arith.mulf %in, %fv : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: q + bias is not linear (homogeneous) in q.
// CHECK-LABEL: func.func @affine_not_linear_negative
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.addf
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @affine_not_linear_negative(%x: tensor<2x2xf32>, %kt: tensor<2x2xf32>, %bias: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %qb = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%q, %bias : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %s = linalg.matmul ins(%qb, %kt : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// On torch-mlir's Llama head, the `/ 4.0` after Q K^T disappears.
// LLAMA-LABEL: func.func @forward
// LLAMA-NOT: arith.divf %in, %cst
// LLAMA: linalg.batch_matmul
// LLAMA-NOT: arith.divf %in, %cst

// scaled_dot_product_attention's split scale (q * 0.5 and k * 0.5) folds into
// both projection weights.
// SDPA-LABEL: func.func @forward
// SDPA-NOT: arith.mulf %in, %cst

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// After attn-fuse-projections: only Wq's columns (0:1) of [Wq | Wk] are scaled.
// CHECK-LABEL: func.func @fused_projection_columns
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 2.000000e+00], [1.500000e+00, 4.000000e+00]]>
// CHECK-NOT: arith.mulf
func.func @fused_projection_columns(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x1xf32>, tensor<2x1xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: Q and K are overlapping slices of one projection (scaling Q's
// columns would scale K too), and the whole projection feeds both sides.
// CHECK-LABEL: func.func @overlapping_slices_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @overlapping_slices_not_applicable(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> to tensor<2x2xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %ez = tensor.empty() : tensor<2x1xf32>
  %zk = linalg.fill ins(%c0 : f32) outs(%ez : tensor<2x1xf32>) -> tensor<2x1xf32>
  %s = linalg.matmul ins(%q, %k : tensor<2x2xf32>, tensor<2x1xf32>) outs(%zk : tensor<2x1xf32>) -> tensor<2x1xf32>
  %sc = tensor.collapse_shape %s [[0, 1]] : tensor<2x1xf32> into tensor<2xf32>
  %se = tensor.expand_shape %sc [[0, 1]] output_shape [1, 2] : tensor<2xf32> into tensor<1x2xf32>
  %e12 = tensor.empty() : tensor<1x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%se : tensor<1x2xf32>) outs(%e12 : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %rr = tensor.collapse_shape %r [[0, 1]] : tensor<1x2xf32> into tensor<2xf32>
  %out = tensor.expand_shape %rr [[0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
  %pad = tensor.concat dim(1) %out, %out : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  return %pad : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: Q's matmul accumulates into -3.0, and (x@Wq + c)*s is not
// x@(Wq*s) + c. The weight and the scale stay.
// CHECK-LABEL: func.func @nonzero_query_init_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @nonzero_query_init_not_applicable(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %cm3 = arith.constant -3.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %n = linalg.fill ins(%cm3 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%n : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: the scores matmul accumulates into 1.0, so s*(q@k^T + 1) is
// not (s*q)@k^T + 1 even though Q's projection starts from zeros.
// CHECK-LABEL: func.func @nonzero_scores_init_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @nonzero_scores_init_not_applicable(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %c1 = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %o = linalg.fill ins(%c1 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%o : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: a fused [Wq | Wk] projection that accumulates into 2.0 (what
// attn-fuse-projections keeps from equal non-zero inits): Q's columns are
// x@Wq + 2, and scaling Wq's columns would leave the 2 unscaled.
// CHECK-LABEL: func.func @fused_columns_nonzero_init_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @fused_columns_nonzero_init_not_applicable(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %c2 = arith.constant 2.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %n = linalg.fill ins(%c2 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%n : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x1xf32>, tensor<2x1xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// A constant bias on q (BERT, Qwen2): (x@Wq + b) * s == x@(Wq*s) + b*s, so the
// bias is scaled along with the weight.
// CHECK-LABEL: func.func @query_bias_scaled_along
// CHECK-DAG: arith.constant dense<[1.000000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK-NOT: arith.mulf %in, %{{.*}} : f32
// CHECK: return
func.func @query_bias_scaled_along(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %bq = arith.constant dense<[2.0, -1.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q0 = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
         ins(%q0, %bq : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// Must not fire: the bias is a function argument (known only at run time, so it
// cannot be scaled ahead of time).
// CHECK-LABEL: func.func @runtime_bias_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @runtime_bias_not_applicable(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>, %bq: tensor<2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q0 = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
         ins(%q0, %bq : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// Must not fire: the constant is used twice in the body (q*b + b): it is not a
// bias that scales along.
// CHECK-LABEL: func.func @bias_used_twice_not_applicable
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @bias_used_twice_not_applicable(%x: tensor<2x2xf32>, %k: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %bq = arith.constant dense<[2.0, -1.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q0 = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
         ins(%q0, %bq : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    %m = arith.addf %p, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// GPT-2's Conv1D: one x @ [Wq | Wk] plus [bq | bk], then split. Only Wq's columns
// of the weight and of the bias are scaled.
// CHECK-LABEL: func.func @fused_columns_with_bias
// CHECK-DAG: arith.constant dense<[1.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, 2.000000e+00], [1.500000e+00, 4.000000e+00]]>
// CHECK-NOT: arith.mulf
func.func @fused_columns_with_bias(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x1xf32>, tensor<2x1xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// Must not fire: the biased fused projection is also returned whole, so its
// reader would see Wq's columns scaled.
// CHECK-LABEL: func.func @fused_bias_whole_reader_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @fused_bias_whole_reader_not_applicable(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x1xf32>, tensor<2x1xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r, %p : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// GPT-NeoX's fused QKV: one x @ W + b whose columns hold [q | k | v] per head (the
// [T, H, 3, D] view), so q reads the strided columns {0, 1, 6, 7}: only those
// columns of W and entries of b are scaled.
// CHECK-LABEL: func.func @interleaved_qkv_columns
// CHECK-DAG: arith.constant dense<[5.000000e-01, 1.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 3.500000e+00, 4.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01]> : tensor<12xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 3.500000e+00, 4.000000e+00, 9.000000e+00, {{.*}}], [6.500000e+00, 7.000000e+00, 1.500000e+01, {{.*}}]]> : tensor<2x12xf32>
// CHECK-NOT: arith.mulf %in, %{{.*}} : f32
// CHECK: return
func.func @interleaved_qkv_columns(%x: tensor<2x2xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: the fused product accumulates into 1.0, and (x@W + 1) * s is not
// x@(W*s) + 1.
// CHECK-LABEL: func.func @interleaved_qkv_nonzero_init_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_qkv_nonzero_init_not_applicable(%x: tensor<2x2xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: the fused weight is a function argument, not a constant.
// CHECK-LABEL: func.func @interleaved_qkv_runtime_weight_not_applicable
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_qkv_runtime_weight_not_applicable(%x: tensor<2x2xf32>, %w: tensor<2x12xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: the fused bias is a function argument: q's share of it cannot be
// scaled ahead of time.
// CHECK-LABEL: func.func @interleaved_qkv_runtime_bias_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_qkv_runtime_bias_not_applicable(%x: tensor<2x2xf32>, %b: tensor<12xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: the whole fused result is also returned, and that reader would see
// q's columns scaled.
// CHECK-LABEL: func.func @interleaved_qkv_whole_reader_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_qkv_whole_reader_not_applicable(%x: tensor<2x2xf32>) -> (tensor<2x2x2xf32>, tensor<2x12xf32>) {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r, %p : tensor<2x2x2xf32>, tensor<2x12xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: head 1's q is also read by another slice of the fused result
// (returned unscaled).
// CHECK-LABEL: func.func @interleaved_q_other_reader_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_q_other_reader_not_applicable(%x: tensor<2x2xf32>) -> (tensor<2x2x2xf32>, tensor<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %q1 = tensor.extract_slice %v[0, 1, 0, 0] [2, 1, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r, %q1 : tensor<2x2x2xf32>, tensor<2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: k is a strided slice that reads q's columns too (stride 2 on the
// q/k/v axis picks q and v), so scaling q's columns would scale k.
// CHECK-LABEL: func.func @interleaved_shared_columns_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_shared_columns_not_applicable(%x: tensor<2x2xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 2, 1] [1, 1, 2, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire: the bias b[d] is added to q, k and v alike (one entry per d): an
// entry added to q's columns is also added to k's, so it cannot be scaled for q only.
// CHECK-LABEL: func.func @interleaved_shared_bias_not_applicable
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_shared_bias_not_applicable(%x: tensor<2x2xf32>) -> tensor<2x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %v0 = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %v = linalg.generic {indexing_maps = [#id4, #dim, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%v0, %b : tensor<2x2x3x2xf32>, tensor<2xf32>) outs(%et : tensor<2x2x3x2xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// q and k as strided slices of one product (stride 3: columns {0, 3} and {1, 4}):
// only q's columns 0 and 3 of the weight are scaled.
// CHECK-LABEL: func.func @strided_slice_columns
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 2.000000e+00, 3.000000e+00, 2.000000e+00, 5.000000e+00, 6.000000e+00], [3.500000e+00, 8.000000e+00, 9.000000e+00, 5.000000e+00, 1.100000e+01, 1.200000e+01]]>
// CHECK-NOT: arith.mulf
func.func @strided_slice_columns(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]]> : tensor<2x6xf32>
  %e6 = tensor.empty() : tensor<2x6xf32>
  %z6 = linalg.fill ins(%c0 : f32) outs(%e6 : tensor<2x6xf32>) -> tensor<2x6xf32>
  %p = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x6xf32>) outs(%z6 : tensor<2x6xf32>) -> tensor<2x6xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 2] [1, 3] : tensor<2x6xf32> to tensor<2x2xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 2] [1, 3] : tensor<2x6xf32> to tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

// A token count not known statically (the casts stand for a dynamic-shaped caller): the whole product is scaled (its columns do
// not depend on the number of rows), and so is its bias.
// CHECK-LABEL: func.func @dynamic_tokens_bias
// CHECK-DAG: arith.constant dense<[1.000000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK-NOT: arith.mulf %in, %{{.*}} : f32
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dynamic_tokens_bias(%xs: tensor<3x2xf32>, %ks: tensor<3x2xf32>) -> tensor<3x3xf32> {
  %x = tensor.cast %xs : tensor<3x2xf32> to tensor<?x2xf32>
  %k = tensor.cast %ks : tensor<3x2xf32> to tensor<?x2xf32>
  %c0 = arith.constant 0.0 : f32
  %i0 = arith.constant 0 : index
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %n = tensor.dim %x, %i0 : tensor<?x2xf32>
  %e = tensor.empty(%n) : tensor<?x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %q0 = linalg.matmul ins(%x, %wq : tensor<?x2xf32>, tensor<2x2xf32>) outs(%z : tensor<?x2xf32>) -> tensor<?x2xf32>
  %bq = arith.constant dense<[2.0, -1.0]> : tensor<2xf32>
  %q = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d1)>, #id], iterator_types = ["parallel", "parallel"]} ins(%q0, %bq : tensor<?x2xf32>, tensor<2xf32>) outs(%e : tensor<?x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<?x2xf32>
  %es = tensor.empty(%n, %n) : tensor<?x?xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<?x?xf32>) -> tensor<?x?xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<?x2xf32>, tensor<?x2xf32>) outs(%zs : tensor<?x?xf32>) -> tensor<?x?xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<?x?xf32>) outs(%es : tensor<?x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<?x?xf32>
  %rs = tensor.cast %r : tensor<?x?xf32> to tensor<3x3xf32>
  return %rs : tensor<3x3xf32>
}

// -----

// A static slice of a product with a dynamic token count: the slice is not a view
// column_view takes (its rows are not known), the whole product is (all columns).
// CHECK-LABEL: func.func @dynamic_tokens_sliced
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK-NOT: arith.mulf %in, %{{.*}} : f32
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dynamic_tokens_sliced(%xs: tensor<6x2xf32>, %k: tensor<5x2xf32>) -> tensor<5x5xf32> {
  %x = tensor.cast %xs : tensor<6x2xf32> to tensor<?x2xf32>
  %c0 = arith.constant 0.0 : f32
  %i0 = arith.constant 0 : index
  %half = arith.constant 0.5 : f32
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %n = tensor.dim %x, %i0 : tensor<?x2xf32>
  %e = tensor.empty(%n) : tensor<?x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %q0 = linalg.matmul ins(%x, %wq : tensor<?x2xf32>, tensor<2x2xf32>) outs(%z : tensor<?x2xf32>) -> tensor<?x2xf32>
  %q = tensor.extract_slice %q0[0, 0] [5, 2] [1, 1] : tensor<?x2xf32> to tensor<5x2xf32>
  %es = tensor.empty() : tensor<5x5xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<5x5xf32>) -> tensor<5x5xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<5x2xf32>, tensor<5x2xf32>) outs(%zs : tensor<5x5xf32>) -> tensor<5x5xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<5x5xf32>) outs(%es : tensor<5x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<5x5xf32>
  return %r : tensor<5x5xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dim = affine_map<(d0, d1, d2, d3) -> (d3)>

// Must not fire under the default budget (max-weight-growth=1): the fused weight is
// also read by another product, which keeps it, so q's scaled copy would add its bytes.
// With max-weight-growth=2 it fires: the other product keeps the original (GROW).
// CHECK-LABEL: func.func @interleaved_qkv_shared_weight_not_applicable
// GROW-LABEL: func.func @interleaved_qkv_shared_weight_not_applicable
// GROW-DAG: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// GROW-DAG: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00, 3.000000e+00
// GROW-NOT: arith.mulf %in, %{{.*}} : f32
// GROW: return
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00
// CHECK: arith.mulf %in, %{{.*}} : f32
func.func @interleaved_qkv_shared_weight_not_applicable(%x: tensor<2x2xf32>) -> (tensor<2x2x2xf32>, tensor<2x12xf32>) {
  %c0 = arith.constant 0.0 : f32
  %init = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0]]> : tensor<2x12xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<2x12xf32>
  %z = linalg.fill ins(%init : f32) outs(%e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p0 = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %p = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%p0, %b : tensor<2x12xf32>, tensor<12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %out: f32):
    %m = arith.addf %a, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x12xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 2, 3, 2] : tensor<2x12xf32> into tensor<2x2x3x2xf32>
  %et = tensor.empty() : tensor<2x2x3x2xf32>
  %t = linalg.transpose ins(%v : tensor<2x2x3x2xf32>) outs(%et : tensor<2x2x3x2xf32>) permutation = [1, 0, 2, 3]
  %q = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [1, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  %eo = tensor.empty() : tensor<2x12xf32>
  %zo = linalg.fill ins(%c0 : f32) outs(%eo : tensor<2x12xf32>) -> tensor<2x12xf32>
  %other = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x12xf32>) outs(%zo : tensor<2x12xf32>) -> tensor<2x12xf32>
  %es = tensor.empty() : tensor<2x2x2xf32>
  %zs = linalg.fill ins(%c0 : f32) outs(%es : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
         ins(%q, %k : tensor<2x2x2xf32>, tensor<2x2x2xf32>) outs(%zs : tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%s : tensor<2x2x2xf32>) outs(%es : tensor<2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2x2xf32>
  // expected-remark@-6 {{attn-fold-score-scale: would grow constants by 96 bytes}}
  return %r, %other : tensor<2x2x2xf32>, tensor<2x12xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A fused [Wq | Wk] kept as [out, in] and read through the map (n, k) (what
// attn-fold-transposes leaves when the constant is shared): Wq's column is the
// constant's row 0.
// CHECK-LABEL: func.func @fused_columns_weight_read_transposed
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK-NOT: arith.mulf
func.func @fused_columns_weight_read_transposed(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %p = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = tensor.extract_slice %p[0, 0] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %k = tensor.extract_slice %p[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2x1xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%q, %k : tensor<2x1xf32>, tensor<2x1xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}
