// RUN: %attn_opt %s --split-input-file --attn-normalize | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>

// A captured f64 scalar truncated in the body becomes one f32 constant, captured.
// CHECK-LABEL: func.func @truncf_of_captured_f64
// CHECK: %[[C:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: arith.mulf %[[IN]], %[[C]] : f32
// CHECK-NOT: truncf
func.func @truncf_of_captured_f64(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %c = arith.constant 2.500000e-01 : f64
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %c : f64 to f32
    %m = arith.mulf %in, %t : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Negation spelled `mulf -1, x` and `subf 0, x` becomes negf; `/ 8` becomes `* 0.125`.
// CHECK-LABEL: func.func @signs_and_scales
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.negf
// CHECK: arith.negf
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.divf
// CHECK-NOT: arith.subf
func.func @signs_and_scales(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m1 = arith.constant -1.000000e+00 : f32
  %z = arith.constant 0.000000e+00 : f32
  %d = arith.constant 8.000000e+00 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.mulf %m1, %in : f32
    %b = arith.subf %z, %a : f32
    %c = arith.divf %b, %d : f32
    linalg.yield %c : f32
  } -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Must not fire: a division by zero, by a run-time value, and `1 - x` keep their ops.
// CHECK-LABEL: func.func @signs_not_applicable
// CHECK: arith.divf %{{.*}}, %cst : f32
// CHECK: arith.divf %{{.*}}, %[[Y:.*]] : f32
// CHECK: arith.subf
// CHECK-NOT: arith.negf
func.func @signs_not_applicable(%x: tensor<4x8xf32>, %y: f32) -> tensor<4x8xf32> {
  %z = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.divf %in, %z : f32
    %b = arith.divf %a, %y : f32
    %c = arith.subf %one, %b : f32
    linalg.yield %c : f32
  } -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
#row = affine_map<(d0, d1) -> (d0, 0)>

// The row max as cmpf ogt + select is maximumf; the softmax normalised as e * (1/sum)
// through a reciprocal generic reads the sum and divides.
// CHECK-LABEL: func.func @row_spellings
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.select
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[S:.*]] : tensor<4x8xf32>, tensor<4x1xf32>)
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.mulf
func.func @row_spellings(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> (tensor<4xf32>, tensor<4x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %one = arith.constant 1.000000e+00 : f32
  %e4 = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ogt, %in, %out : f32
    %m = arith.select %c, %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %e41 = tensor.empty() : tensor<4x1xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x1xf32>) outs(%e41 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %q = arith.divf %one, %in : f32
    linalg.yield %q : f32
  } -> tensor<4x1xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %r : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %rin: f32, %out: f32):
    %q = arith.mulf %in, %rin : f32
    linalg.yield %q : f32
  } -> tensor<4x8xf32>
  return %max, %p : tensor<4xf32>, tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// cos/sin of an iota times constant frequencies become constant tables; a compare of
// an exact extf against -inf compares in f32.
// CHECK-LABEL: func.func @tables_and_narrow_compares
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<4x2xf32>
// CHECK-NOT: math.cos
// CHECK: arith.cmpf oeq, %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.extf
func.func @tables_and_narrow_compares(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xi1>) {
  %freq = arith.constant dense<[1.0, 0.01]> : tensor<2xf32>
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %e = tensor.empty() : tensor<4x2xf32>
  %cos = linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]} ins(%freq : tensor<2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%f: f32, %out: f32):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %p = arith.sitofp %ii : i64 to f32
    %a = arith.mulf %p, %f : f32
    %c = math.cos %a : f32
    linalg.yield %c : f32
  } -> tensor<4x2xf32>
  %eb = tensor.empty() : tensor<4x2xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x2xf32>) outs(%eb : tensor<4x2xi1>) {
  ^bb0(%in: f32, %out: i1):
    %w = arith.extf %in : f32 to f64
    %t = arith.cmpf oeq, %w, %ninf : f64
    linalg.yield %t : i1
  } -> tensor<4x2xi1>
  return %cos, %isinf : tensor<4x2xf32>, tensor<4x2xi1>
}

// -----

// A slice's stride along a dimension of size 1 is 1, static or dynamic (extract
// and insert; found by the fuzzer, seed 2032 case 269: a dynamic one aborted
// after bufferization); a stride along a longer dimension stays, dynamic or not.
// CHECK-LABEL: func.func @unit_strides
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 2, 0] [2, 2, 1, 1] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [2, 1, 2, 1] [1, 1, 2, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [2, 2, 1, 1] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 2, 1, 1] [1, %{{.*}}, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 1, 0] [2, 2, 1, 1] [1, 1, 1, 1]
func.func @unit_strides(%t: tensor<2x2x3x1xf32>, %s: index) -> (tensor<2x2x1xf32>, tensor<2x2xf32>, tensor<2x2x1xf32>, tensor<2x1xf32>, tensor<2x2x3x1xf32>) {
  %a = tensor.extract_slice %t[0, 0, 2, 0] [2, 2, 1, 1] [1, 1, 2, 1] : tensor<2x2x3x1xf32> to tensor<2x2x1xf32>
  %b = tensor.extract_slice %t[0, 0, 0, 0] [2, 1, 2, 1] [1, 3, 2, 1] : tensor<2x2x3x1xf32> to tensor<2x2xf32>
  %c = tensor.extract_slice %t[0, 0, 0, 0] [2, 2, 1, 1] [1, 1, %s, 1] : tensor<2x2x3x1xf32> to tensor<2x2x1xf32>
  %e = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 1] [%s, %s, %s, 1] : tensor<2x2x3x1xf32> to tensor<2x1xf32>
  %d = tensor.insert_slice %a into %t[0, 0, 1, 0] [2, 2, 1, 1] [1, 1, 5, 1] : tensor<2x2x1xf32> into tensor<2x2x3x1xf32>
  return %a, %b, %c, %e, %d : tensor<2x2x1xf32>, tensor<2x2xf32>, tensor<2x2x1xf32>, tensor<2x1xf32>, tensor<2x2x3x1xf32>
}
