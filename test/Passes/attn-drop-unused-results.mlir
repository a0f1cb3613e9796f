// RUN: %attn_opt %s --split-input-file --attn-drop-unused-results | FileCheck %s

// torch-mlir's aten.max.dim with only the maximum used: the index result, its
// init and the compare/select/index ops that compute it are dropped.
// CHECK-LABEL: func @max_of_max_argmax
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<4x1xf32>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT: arith.maximumf
// CHECK-NEXT: linalg.yield %{{.*}} : f32
// CHECK-NOT: arith.select
func.func @max_of_max_argmax(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : i64
  %e = tensor.empty() : tensor<4x1xf32>
  %ei = tensor.empty() : tensor<4x1xi64>
  %mf = linalg.fill ins(%ninf : f32) outs(%e : tensor<4x1xf32>) -> tensor<4x1xf32>
  %mi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4x1xi64>) -> tensor<4x1xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%mf, %mi : tensor<4x1xf32>, tensor<4x1xi64>) {
  ^bb0(%in: f32, %out: f32, %out_1: i64):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i64
    %m = arith.maximumf %in, %out : f32
    %gt = arith.cmpf ogt, %in, %out : f32
    %idx = arith.select %gt, %ki, %out_1 : i64
    linalg.yield %m, %idx : f32, i64
  } -> (tensor<4x1xf32>, tensor<4x1xi64>)
  return %r#0 : tensor<4x1xf32>
}

// -----

// Only the index is used: it compares against the maximum's accumulator, so
// the maximum takes part in it and stays.
// CHECK-LABEL: func @argmax_used_not_applicable
// CHECK: %{{.*}}:2 = linalg.generic
func.func @argmax_used_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x1xi64> {
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : i64
  %e = tensor.empty() : tensor<4x1xf32>
  %ei = tensor.empty() : tensor<4x1xi64>
  %mf = linalg.fill ins(%ninf : f32) outs(%e : tensor<4x1xf32>) -> tensor<4x1xf32>
  %mi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4x1xi64>) -> tensor<4x1xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%mf, %mi : tensor<4x1xf32>, tensor<4x1xi64>) {
  ^bb0(%in: f32, %out: f32, %out_1: i64):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i64
    %m = arith.maximumf %in, %out : f32
    %gt = arith.cmpf ogt, %in, %out : f32
    %idx = arith.select %gt, %ki, %out_1 : i64
    linalg.yield %m, %idx : f32, i64
  } -> (tensor<4x1xf32>, tensor<4x1xi64>)
  return %r#1 : tensor<4x1xi64>
}

// -----

// Both results used: nothing to drop.
// CHECK-LABEL: func @both_used_not_applicable
// CHECK: %{{.*}}:2 = linalg.generic
func.func @both_used_not_applicable(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e, %e : tensor<4x8xf32>, tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32, %p: f32):
    %s = arith.addf %a, %b : f32
    %d = arith.subf %a, %b : f32
    linalg.yield %s, %d : f32, f32
  } -> (tensor<4x8xf32>, tensor<4x8xf32>)
  return %r#0, %r#1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// An op without results in the body (an index check) is kept even when it
// only guards the dropped result.
// CHECK-LABEL: func @assert_kept
// CHECK: linalg.generic
// CHECK: cf.assert
// CHECK-NOT: arith.subf
func.func @assert_kept(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e, %e : tensor<4x8xf32>, tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32, %p: f32):
    %s = arith.addf %a, %b : f32
    %d = arith.subf %a, %b : f32
    %ok = arith.cmpf oge, %b, %b : f32
    cf.assert %ok, "check"
    linalg.yield %s, %d : f32, f32
  } -> (tensor<4x8xf32>, tensor<4x8xf32>)
  return %r#0 : tensor<4x8xf32>
}
