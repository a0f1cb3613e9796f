// RUN: %attn_opt %s --split-input-file --attn-optimize | FileCheck %s
// RUN: %attn_opt %s --split-input-file --attn-optimize --verify-diagnostics
// RUN: %attn_opt %s --split-input-file --attn-optimize="max-weight-growth=2.0" | FileCheck %s --check-prefix=GROW
// RUN: %attn_opt %fixtures/decode_fixed_position.mlir --attn-optimize | FileCheck %s --check-prefix=DECODE
// RUN: %attn_opt %fixtures/rope_cos_sin_inputs.mlir --attn-optimize | FileCheck %s --check-prefix=ARGS
// RUN: %attn_opt %fixtures/llama_mha.mlir --attn-optimize | FileCheck %s --check-prefix=MHA

// Rewrites compose to a fixed point: the two scaled projections of x fold
// their factors into the weights, then merge into one matmul.
// CHECK-LABEL: func.func @scaled_projections_merge
// CHECK: linalg.matmul
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @scaled_projections_merge(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wa = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<4x4xf32>
  %wb = arith.constant dense<[[0.5, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.5]]> : tensor<4x4xf32>
  %c = arith.constant dense<[2.0, 3.0, 4.0, 5.0]> : tensor<4xf32>
  %s = arith.constant 0.25 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %ya = linalg.matmul ins(%x, %wa : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %yb = linalg.matmul ins(%x, %wb : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%ya, %c : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %k: f32, %o: f32):
    %m = arith.mulf %i, %k : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%yb : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %m = arith.mulf %i, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.addf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// The weight is also returned, so the scaled copy would be new bytes: the
// default budget (no growth) skips it with one remark; a budget of 2x allows it.
// CHECK-LABEL: func.func @budget_negative
// CHECK: linalg.generic
// GROW-LABEL: func.func @budget_negative
// GROW-NOT: linalg.generic
// GROW: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @budget_negative(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<4x4xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<4x4xf32>
  %c = arith.constant dense<[2.0, 3.0, 4.0, 5.0]> : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark@+1 {{attn-fold-mul-into-matmul: multiply by a per-column constant folded into the matmul weights skipped: would grow constants by 48 bytes}}
  %r = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %c : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %k: f32, %o: f32):
    %m = arith.mulf %i, %k : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  return %r, %w : tensor<2x4xf32>, tensor<4x4xf32>
}

// Decode step at a fixed position: q and k rotary live in their projection
// weights; four matmuls (q, k, v, o), no rotary arithmetic left.
// DECODE-LABEL: func.func @forward
// DECODE-NOT: arith.negf
// DECODE-NOT: linalg.index 3
// DECODE: tensor.concat dim(2)
// DECODE: tensor.concat dim(2)
// DECODE-NOT: arith.negf
// DECODE: return

// cos/sin as function arguments: applied at run time by the fused generic.
// ARGS-LABEL: func.func @forward(%arg0: tensor<1x16x32xf32>, %arg1: tensor<16x16xf32>, %arg2: tensor<16x16xf32>)
// ARGS-DAG: %[[C:.*]] = tensor.extract_slice %arg1[0, 0] [16, 8] [1, 1]
// ARGS-DAG: %[[S:.*]] = tensor.extract_slice %arg2[0, 0] [16, 8] [1, 1]
// ARGS: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[C]], %[[S]],
// ARGS: arith.mulf
// ARGS: arith.mulf

// Prefill: rotary fused into the kernel's two-result generic (q and k), no
// negations or concatenations left.
// MHA-LABEL: func.func @forward
// MHA-NOT: arith.negf %in
// MHA-NOT: tensor.concat
// MHA: } -> (tensor<{{.*}}>, tensor<{{.*}}>)
// MHA-NOT: arith.negf %in
// MHA-NOT: tensor.concat
// MHA: } -> (tensor<{{.*}}>, tensor<{{.*}}>)
// MHA-NOT: arith.negf %in
// MHA-NOT: tensor.concat
// MHA: return

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fold the scale: Q's projection accumulates into -3.0, and
// (x@Wq - 3)*s is not x@(Wq*s) - 3.
// CHECK-LABEL: func.func @nonzero_query_init_not_applicable
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// GROW-LABEL: func.func @nonzero_query_init_not_applicable
// GROW: arith.mulf %{{.*}}, %{{.*}} : f32
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
