// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-widen-i1 | FileCheck %s

// A mask built by one generic and read by another: i8 in memory, i1 in the bodies.
// CHECK-LABEL: func.func @mask_producer_consumer
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x4xi8>
// CHECK: %[[M:.*]] = linalg.generic {{.*}} outs(%[[E]] : tensor<4x4xi8>)
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: i8):
// CHECK:   %[[C:.*]] = arith.cmpf ogt
// CHECK:   %[[W:.*]] = arith.extui %[[C]] : i1 to i8
// CHECK:   linalg.yield %[[W]] : i8
// CHECK: } -> tensor<4x4xi8>
// CHECK: linalg.generic {{.*}} ins(%[[M]], %{{.*}} : tensor<4x4xi8>, tensor<4x4xf32>)
// CHECK: ^bb0(%[[IN:.*]]: i8, %{{.*}}: f32, %{{.*}}: f32):
// CHECK:   %[[B:.*]] = arith.trunci %[[IN]] : i8 to i1
// CHECK:   arith.select %[[B]]
// CHECK-NOT: i1>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @mask_producer_consumer(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xi1>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf ogt, %in, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4x4xi1>
  %ef = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x : tensor<4x4xi1>, tensor<4x4xf32>) outs(%ef : tensor<4x4xf32>) {
  ^bb0(%b: i1, %in: f32, %out: f32):
    %s = arith.select %b, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// An i1 constant, a fill and an `andi` reduction whose accumulator is i1.
// CHECK-LABEL: func.func @constant_fill_reduction
// CHECK-DAG: arith.constant dense<[1, 0, 1, 1]> : tensor<4xi8>
// CHECK-DAG: %[[TRUE:.*]] = arith.constant true
// CHECK: %[[F:.*]] = linalg.generic {{.*}} ins(%[[TRUE]] : i1) outs(%{{.*}} : tensor<2xi8>)
// CHECK:   arith.extui %{{.*}} : i1 to i8
// CHECK: linalg.generic {{.*}} outs(%[[F]] : tensor<2xi8>)
// CHECK: ^bb0(%[[IN:.*]]: i8, %[[ACC:.*]]: i8):
// CHECK:   %[[A:.*]] = arith.trunci %[[IN]] : i8 to i1
// CHECK:   %[[B:.*]] = arith.trunci %[[ACC]] : i8 to i1
// CHECK:   %[[AND:.*]] = arith.andi %[[A]], %[[B]] : i1
// CHECK:   arith.extui %[[AND]] : i1 to i8
// CHECK-NOT: i1>
func.func @constant_fill_reduction(%x: tensor<2x4xf32>) -> tensor<2xf32> {
  %true = arith.constant true
  %k = arith.constant dense<[true, false, true, true]> : tensor<4xi1>
  %e = tensor.empty() : tensor<2xi1>
  %f = linalg.fill ins(%true : i1) outs(%e : tensor<2xi1>) -> tensor<2xi1>
  %all = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>],
                         iterator_types = ["parallel", "reduction"]}
      ins(%k : tensor<4xi1>) outs(%f : tensor<2xi1>) {
  ^bb0(%in: i1, %acc: i1):
    %a = arith.andi %in, %acc : i1
    linalg.yield %a : i1
  } -> tensor<2xi1>
  %ef = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%all : tensor<2xi1>) outs(%ef : tensor<2xf32>) {
  ^bb0(%b: i1, %out: f32):
    %v = arith.uitofp %b : i1 to f32
    linalg.yield %v : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

// Shape-only tensor ops and a named linalg op (generalized first) keep the i8 type.
// CHECK-LABEL: func.func @shape_ops
// CHECK: tensor.expand_shape {{.*}} : tensor<4x4xi8> into tensor<1x4x4xi8>
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x4x4xi8>) outs(%{{.*}} : tensor<1x4x4xi8>)
// CHECK: tensor.extract_slice {{.*}} : tensor<1x4x4xi8> to tensor<1x2x4xi8>
// CHECK: tensor.concat dim(1) {{.*}} : (tensor<1x2x4xi8>, tensor<1x2x4xi8>) -> tensor<1x4x4xi8>
// CHECK: tensor.collapse_shape {{.*}} : tensor<1x4x4xi8> into tensor<4x4xi8>
// CHECK: %[[X:.*]] = tensor.extract {{.*}} : tensor<4x4xi8>
// CHECK: arith.trunci %[[X]] : i8 to i1
// CHECK-NOT: i1>
func.func @shape_ops(%m: tensor<4x4xf32>, %i: index) -> (tensor<4x4xf32>, i1) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xi1>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%m : tensor<4x4xf32>) outs(%e : tensor<4x4xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf olt, %in, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4x4xi1>
  %x = tensor.expand_shape %b [[0, 1], [2]] output_shape [1, 4, 4] : tensor<4x4xi1> into tensor<1x4x4xi1>
  %et = tensor.empty() : tensor<1x4x4xi1>
  %t = linalg.transpose ins(%x : tensor<1x4x4xi1>) outs(%et : tensor<1x4x4xi1>) permutation = [0, 2, 1]
  %lo = tensor.extract_slice %t[0, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<1x4x4xi1> to tensor<1x2x4xi1>
  %hi = tensor.extract_slice %t[0, 2, 0] [1, 2, 4] [1, 1, 1] : tensor<1x4x4xi1> to tensor<1x2x4xi1>
  %c = tensor.concat dim(1) %hi, %lo : (tensor<1x2x4xi1>, tensor<1x2x4xi1>) -> tensor<1x4x4xi1>
  %flat = tensor.collapse_shape %c [[0, 1], [2]] : tensor<1x4x4xi1> into tensor<4x4xi1>
  %one = tensor.extract %flat[%i, %i] : tensor<4x4xi1>
  %ef = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%flat, %m : tensor<4x4xi1>, tensor<4x4xf32>) outs(%ef : tensor<4x4xf32>) {
  ^bb0(%k: i1, %in: f32, %out: f32):
    %s = arith.select %k, %zero, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r, %one : tensor<4x4xf32>, i1
}

// -----

// Only i1 scalars, no i1 tensor: nothing to do.
// CHECK-LABEL: func.func @scalar_i1_not_applicable
// CHECK-NEXT: arith.cmpf
// CHECK-NEXT: arith.select
// CHECK-NEXT: return
func.func @scalar_i1_not_applicable(%a: f32, %b: f32) -> f32 {
  %c = arith.cmpf olt, %a, %b : f32
  %s = arith.select %c, %a, %b : f32
  return %s : f32
}

// -----

// expected-error@+1 {{argument 0 of @mask_argument_negative has type tensor<4xi1>: i1 tensors are not supported at function boundaries}}
func.func @mask_argument_negative(%m: tensor<4xi1>) -> tensor<4xi1> {
  return %m : tensor<4xi1>
}

// -----

// Private functions too: their callers would pass i8.
// expected-error@+1 {{argument 0 of @private_mask_argument_negative has type tensor<4xi1>}}
func.func private @private_mask_argument_negative(%m: tensor<4xi1>, %a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// -----

func.func @elementwise_arith_on_i1_tensor_negative(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{'arith.cmpf' on an i1 tensor cannot be widened to i8}}
  %m = arith.cmpf olt, %a, %b : tensor<4xf32>
  %s = arith.select %m, %a, %b : tensor<4xi1>, tensor<4xf32>
  return %s : tensor<4xf32>
}
