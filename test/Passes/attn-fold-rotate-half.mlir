// RUN: %attn_opt %s --split-input-file --attn-fold-rotate-half | FileCheck %s
// RUN: %attn_opt %s --split-input-file --attn-fold-rotate-half --verify-diagnostics
// RUN: %attn_opt %fixtures/neox_partial_rotary.mlir --attn-fold-rotate-half | FileCheck %s --check-prefix=NEOX
// RUN: %attn_opt %fixtures/decode_fixed_position.mlir --attn-fold-rotate-half | FileCheck %s --check-prefix=DECODE

// Prefill: cos/sin vary per token, so the rotary embedding is fused into the
// rotary kernel's form: one generic over the pairs (a, b) of the halves of the
// unsliced projection computing a*cos_a - b*sin_a and b*cos_b + a*sin_b, each
// half inserted into a fresh tensor (no negation, no concatenation).
// CHECK-LABEL: func.func @prefill_fused
// CHECK: %[[Y:.*]] = linalg.matmul
// CHECK: %[[A:.*]] = tensor.extract_slice %[[Y]][0, 0] [4, 4] [1, 1]
// CHECK: %[[B:.*]] = tensor.extract_slice %[[Y]][0, 4] [4, 4] [1, 1]
// CHECK: %[[G:.*]]:2 = linalg.generic {{.*}} ins(%[[A]], %[[B]],
// CHECK: arith.subf
// CHECK: arith.addf
// CHECK: %[[I:.*]] = tensor.insert_slice %[[G]]#0 into %{{.*}}[0, 0] [4, 4] [1, 1]
// CHECK: %[[R:.*]] = tensor.insert_slice %[[G]]#1 into %[[I]][0, 4] [4, 4] [1, 1]
// CHECK-NOT: tensor.concat
// CHECK-NOT: arith.negf
// CHECK: return %[[R]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @prefill_fused(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %cos : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rh, %sin : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%tc, %rs : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Decode step at a fixed position after a head split: cos/sin are constants
// that do not vary along the token axis, so the whole rotary embedding becomes
// the projection's weights, permuted inside each head's block of columns.
// CHECK-LABEL: func.func @decode_heads_folded
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<8x8xf32>
// CHECK: %[[Y:.*]] = linalg.matmul ins(%arg0, %[[W]] : tensor<1x8xf32>, tensor<8x8xf32>)
// CHECK: %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0], [1, 2, 3]] output_shape [1, 2, 1, 4] : tensor<1x8xf32> into tensor<1x2x1x4xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK: return %[[R]]
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bh = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
func.func @decode_heads_folded(%x: tensor<1x8xf32>) -> tensor<1x2x1x4xf32> {
  %w = arith.constant dense<[[-0.64, -0.31, 0.90, 0.15, -0.32, -0.46, 0.90, -0.11], [0.96, 0.03, 0.04, 0.79, 0.49, 0.16, -0.15, 0.76], [-0.18, 0.85, -0.86, -0.14, 0.04, 0.90, -0.50, 0.61], [0.35, 0.43, 0.26, 0.94, -0.33, -0.20, -0.59, -0.90], [-0.57, 0.83, 0.68, -0.78, 0.21, -0.04, 0.19, 0.32], [-0.39, 0.92, -0.07, 0.26, 0.27, -0.63, -0.88, -0.18], [0.53, 0.63, 0.46, -0.77, 0.83, 0.60, 0.76, 0.05], [0.83, -0.91, -0.94, -0.96, -0.49, -0.50, -0.62, 0.13]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[[[-0.92, 0.18, -0.67, 0.36]]]]> : tensor<1x1x1x4xf32>
  %sin = arith.constant dense<[[[[-0.96, -0.38, 0.88, 0.08]]]]> : tensor<1x1x1x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x1x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x1x2x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) permutation = [0, 2, 1, 3]
  %tc = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t, %cos : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %x2 = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %eh = tensor.empty() : tensor<1x2x1x2xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x1x2xf32>) outs(%eh : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  return %r : tensor<1x2x1x4xf32>
}

// -----

// Prefill after a head split: fused; cos/sin are sliced into halves like the
// projection and read per head through their broadcast map.
// CHECK-LABEL: func.func @prefill_heads_fused
// CHECK: %[[T:.*]] = linalg.transpose
// CHECK: tensor.extract_slice %[[T]][0, 0, 0, 0] [1, 2, 3, 2]
// CHECK: tensor.extract_slice %[[T]][0, 0, 0, 2] [1, 2, 3, 2]
// CHECK: tensor.extract_slice %cst{{.*}} to tensor<1x1x3x2xf32>
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
// CHECK: tensor.insert_slice
// CHECK-NOT: tensor.concat
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bh = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
func.func @prefill_heads_fused(%x: tensor<3x8xf32>) -> tensor<1x2x3x4xf32> {
  %w = arith.constant dense<[[0.62, 0.32, 0.22, -0.62, 0.15, -0.92, 0.60, 0.92], [0.71, -0.90, -0.32, -0.36, -0.77, 0.25, 0.59, -0.37], [0.73, 0.59, -0.74, 0.53, 0.77, -0.61, 0.15, 0.28], [0.22, -0.81, 0.32, 0.26, 0.65, 0.61, -0.35, 0.44], [0.73, 0.79, -0.68, -0.95, 0.30, -0.57, 0.13, 0.89], [-0.24, -0.49, -0.09, 0.31, -0.80, -0.24, -0.73, 0.32], [0.66, -0.25, -0.26, 0.08, -0.57, -0.51, -0.34, -0.09], [-0.84, 0.51, 0.16, -0.40, -0.84, 0.53, -0.74, -0.73]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[[[-0.74, -0.84, 0.81, -0.46], [-0.39, 0.67, 0.24, -0.63], [-0.13, 0.77, -0.25, 0.42]]]]> : tensor<1x1x3x4xf32>
  %sin = arith.constant dense<[[[[-0.81, 0.45, 0.55, 0.65], [0.35, -0.26, -0.87, 0.04], [0.51, -0.62, -0.47, 0.07]]]]> : tensor<1x1x3x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<3x8xf32>) -> tensor<3x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<3x8xf32>, tensor<8x8xf32>) outs(%z : tensor<3x8xf32>) -> tensor<3x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 3, 2, 4] : tensor<3x8xf32> into tensor<1x3x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x3x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x3x2x4xf32>) outs(%e4 : tensor<1x2x3x4xf32>) permutation = [0, 2, 1, 3]
  %tc = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t, %cos : tensor<1x2x3x4xf32>, tensor<1x1x3x4xf32>) outs(%e4 : tensor<1x2x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x3x4xf32>
  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 3, 2] [1, 1, 1, 1] : tensor<1x2x3x4xf32> to tensor<1x2x3x2xf32>
  %x2 = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 3, 2] [1, 1, 1, 1] : tensor<1x2x3x4xf32> to tensor<1x2x3x2xf32>
  %eh = tensor.empty() : tensor<1x2x3x2xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x3x2xf32>) outs(%eh : tensor<1x2x3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x3x2xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x4xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x3x4xf32>, tensor<1x1x3x4xf32>) outs(%e4 : tensor<1x2x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x3x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) outs(%e4 : tensor<1x2x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x3x4xf32>
  return %r : tensor<1x2x3x4xf32>
}

// -----

// cos/sin passed as function arguments: never folded into the weights (they
// are applied at run time), but the rotation is still fused.
// CHECK-LABEL: func.func @cos_sin_arguments_not_folded
// CHECK: linalg.matmul ins(%arg0, %cst
// CHECK: %[[C:.*]] = tensor.extract_slice %arg1[0, 0] [1, 2]
// CHECK: %[[S:.*]] = tensor.extract_slice %arg2[0, 0] [1, 2]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[C]], %[[S]],
// CHECK: arith.mulf
// CHECK: arith.mulf
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#pos = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @cos_sin_arguments_not_folded(%x: tensor<1x8xf32>, %cos: tensor<1x4xf32>, %sin: tensor<1x4xf32>) -> tensor<1x2x1x4xf32> {
  %w = arith.constant dense<[[0.50, 0.79, -0.75, -0.63, 0.60, 0.29, 0.44, 0.99], [0.88, 0.69, 0.55, -0.21, 0.28, -0.63, 0.52, 0.52], [0.44, -0.11, -0.24, -0.16, -0.93, 0.69, 0.08, -0.22], [0.10, 0.44, -0.24, 0.66, 0.84, -0.23, -0.72, 0.52], [0.99, -0.70, 0.43, 0.65, 0.84, -0.75, -0.82, 0.98], [-0.77, -0.65, 0.15, -0.11, 0.50, -0.62, 0.83, -0.57], [0.54, -0.86, -0.05, -0.93, -0.37, -0.38, 0.44, -0.09], [-0.89, 0.99, 0.78, 0.83, -0.51, -0.21, -0.55, -0.75]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x1x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x1x2x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) permutation = [0, 2, 1, 3]
  %tc = linalg.generic {indexing_maps = [#id4, #pos, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t, %cos : tensor<1x2x1x4xf32>, tensor<1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %x2 = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %eh = tensor.empty() : tensor<1x2x1x2xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x1x2xf32>) outs(%eh : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #pos, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x1x4xf32>, tensor<1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  return %r : tensor<1x2x1x4xf32>
}

// -----

// rotate_half on its own (no cos/sin around it): fused into one generic that
// reads both halves; nothing folded into the weights (that would be a whole
// extra matmul).
// CHECK-LABEL: func.func @rotate_half_alone_fused
// CHECK: %[[Y:.*]] = linalg.matmul
// CHECK: %[[H:.*]] = tensor.expand_shape %[[Y]]
// CHECK: %[[LO:.*]] = tensor.extract_slice %[[H]][0, 0, 0] [4, 1, 4]
// CHECK: %[[HI:.*]] = tensor.extract_slice %[[H]][0, 1, 0] [4, 1, 4]
// CHECK: linalg.generic {{.*}} ins(%[[LO]], %[[HI]] : tensor<4x1x4xf32>, tensor<4x1x4xf32>)
// CHECK: arith.negf
// CHECK: arith.select
// CHECK-NOT: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @rotate_half_alone_fused(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[-0.93, 0.01, -0.75, -0.65, 0.72, -0.03, -0.63, 0.34], [-0.47, 0.05, -0.43, 0.03, 0.26, 0.07, -0.21, 0.58], [0.75, -0.64, -0.73, -0.77, 0.96, 0.88, -0.54, 0.94], [-0.58, 0.01, -0.01, 0.83, -0.92, -0.37, 0.20, -0.87], [-0.53, -0.07, 0.76, 0.52, 0.66, 0.52, 0.42, 0.70], [0.36, 0.47, -0.40, -0.66, 0.51, -0.67, 0.84, 0.19], [-0.34, 0.87, -0.69, 0.03, -0.82, 0.93, 0.15, 0.61], [-0.44, 0.60, 0.41, 0.29, 0.90, -0.13, -0.17, 0.38]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %rh : tensor<4x8xf32>
}

// -----

// Partial rotary at a fixed position: the first half of each head is rotated,
// the rest passes through; both end up in one matmul's weights.
// CHECK-LABEL: func.func @decode_partial_rotary_folded
// CHECK: %[[Y:.*]] = linalg.matmul
// CHECK-COUNT-1: tensor.expand_shape %[[Y]]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract_slice
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bh = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
func.func @decode_partial_rotary_folded(%x: tensor<1x8xf32>) -> tensor<1x2x1x4xf32> {
  %w = arith.constant dense<[[0.67, -0.33, 0.34, -0.58, 0.10, 0.54, -0.87, 0.46], [-0.97, 0.92, -0.06, -0.18, 0.44, 0.05, 0.46, -0.83], [0.13, 0.12, 0.86, -0.92, -0.09, 0.26, 0.10, -0.85], [0.19, -0.56, -0.61, 0.76, -0.60, -0.09, 0.50, 0.41], [0.11, 0.61, -0.07, 0.24, 0.64, 0.36, 0.28, -0.19], [0.12, -0.21, 0.49, -0.24, -0.07, 0.51, 0.01, -0.32], [0.65, -0.24, 0.69, 0.57, -0.11, 0.43, -0.93, -0.22], [0.72, 0.16, 0.12, 0.33, 0.36, 0.17, -0.16, -0.63]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[[[-0.41, -0.41]]]]> : tensor<1x1x1x2xf32>
  %sin = arith.constant dense<[[[[-0.14, 1.00]]]]> : tensor<1x1x1x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x1x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x1x2x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) permutation = [0, 2, 1, 3]
  %rot = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %pass = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %e2 = tensor.empty() : tensor<1x2x1x2xf32>
  %tc = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rot, %cos : tensor<1x2x1x2xf32>, tensor<1x1x1x2xf32>) outs(%e2 : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %x1 = tensor.extract_slice %rot[0, 0, 0, 0] [1, 2, 1, 1] [1, 1, 1, 1] : tensor<1x2x1x2xf32> to tensor<1x2x1x1xf32>
  %x2 = tensor.extract_slice %rot[0, 0, 0, 1] [1, 2, 1, 1] [1, 1, 1, 1] : tensor<1x2x1x2xf32> to tensor<1x2x1x1xf32>
  %eh = tensor.empty() : tensor<1x2x1x1xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x1x1xf32>) outs(%eh : tensor<1x2x1x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x1xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x2xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x1x2xf32>, tensor<1x1x1x2xf32>) outs(%e2 : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) outs(%e2 : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %out = tensor.concat dim(3) %r, %pass : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  return %out : tensor<1x2x1x4xf32>
}

// -----

// The halves are not swapped: concat(x1, -x2) is not rotate_half.
// CHECK-LABEL: func.func @halves_not_swapped_not_applicable
// CHECK: tensor.extract_slice
// CHECK: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @halves_not_swapped_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[-0.29, -0.11, -0.26, 0.16, 0.90, 0.78, -0.25, -0.47], [0.77, -0.01, 0.37, -0.85, 0.73, -0.37, -0.01, -0.60], [-0.16, 0.66, 0.66, -0.05, 0.54, -0.08, -0.25, 0.09], [-0.60, -0.37, 0.41, 0.54, -0.89, 0.47, 0.63, -0.11], [-0.88, 0.37, -0.51, 0.29, -0.25, 0.27, -0.48, -0.05], [0.05, 0.26, -0.59, 0.92, -0.42, -0.39, -0.49, -0.87], [-0.15, 0.54, 0.42, -0.61, -0.73, -0.36, 0.54, -0.02], [0.85, 0.31, 0.24, 0.54, 0.50, -0.31, -0.49, -0.12]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %x1, %n : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %rh : tensor<4x8xf32>
}

// -----

// The first half negated: concat(-x1, x2) is not rotate_half.
// CHECK-LABEL: func.func @wrong_slice_order_not_applicable
// CHECK: tensor.extract_slice
// CHECK: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @wrong_slice_order_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[-0.02, -0.72, -0.12, 0.28, -0.73, -0.72, -0.65, -0.43], [0.92, -0.95, -0.63, -0.67, -0.05, -0.97, -0.08, -0.67], [-0.46, 0.58, -0.63, 0.23, -0.19, -0.16, 0.63, -0.68], [0.85, 0.79, 0.34, -0.90, 0.33, 0.20, 0.54, -0.57], [0.91, 0.77, -0.77, -0.37, -0.94, 0.66, 0.83, 0.98], [0.22, 0.33, 0.36, 0.14, 0.90, 0.22, -0.33, 0.03], [-0.96, 0.45, 0.39, -0.16, 0.70, 0.51, -0.33, -0.85], [-0.74, -0.63, -0.39, -0.10, 0.86, -0.44, 0.80, 0.36]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x1 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x2 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %rh : tensor<4x8xf32>
}

// -----

// Halves of the last axis concatenated along the token axis.
// CHECK-LABEL: func.func @concat_other_axis_not_applicable
// CHECK: tensor.extract_slice
// CHECK: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @concat_other_axis_not_applicable(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %w = arith.constant dense<[[0.71, -0.19, -0.99, 0.57, -0.51, -0.72, 0.60, 0.37], [-0.58, -0.46, 0.88, -0.46, 0.40, -0.74, 0.63, -0.76], [0.03, -0.93, 0.10, 0.69, -0.83, -0.45, 0.53, 0.22], [-0.37, 0.26, -0.09, 0.72, -0.41, 0.52, 0.27, 0.48], [-0.24, 0.45, 0.40, -0.23, -0.95, 0.93, 0.43, -0.59], [0.46, -0.44, -0.06, 0.72, -0.10, -0.42, -0.39, -0.85], [-0.56, -0.46, -0.65, -0.87, -0.07, -0.57, 0.48, 0.85], [-0.45, 0.14, 0.01, -0.85, -0.75, 0.77, -0.05, 0.61]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(0) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  return %rh : tensor<8x4xf32>
}

// -----

// Halves of different sizes (a 3/5 split) are not rotate_half.
// CHECK-LABEL: func.func @uneven_halves_not_applicable
// CHECK: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @uneven_halves_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[-0.87, 0.19, 0.73, 0.73, -0.99, 0.04, -0.26, 0.52], [-0.85, -0.47, 0.63, -0.06, -0.09, 0.94, -0.36, -0.92], [-0.22, -0.69, -0.84, 0.14, 0.91, 0.16, 0.29, -0.35], [0.14, 0.50, 0.18, 0.61, 0.10, -0.60, 0.17, -0.02], [-0.67, 0.24, 0.63, -0.73, 0.09, 0.47, -0.19, -0.46], [-0.26, 0.08, 0.37, 0.12, -0.79, 0.64, 0.85, -0.80], [-0.50, -0.65, 0.70, 0.82, -0.91, -0.34, -0.62, -0.06], [0.84, -0.86, -0.66, -0.03, 0.05, 0.49, -0.12, -0.72]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 3] [1, 1] : tensor<4x8xf32> to tensor<4x3xf32>
  %x2 = tensor.extract_slice %t[0, 3] [4, 5] [1, 1] : tensor<4x8xf32> to tensor<4x5xf32>
  %eh5 = tensor.empty() : tensor<4x5xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x5xf32>) outs(%eh5 : tensor<4x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x5xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x5xf32>, tensor<4x3xf32>) -> tensor<4x8xf32>
  return %rh : tensor<4x8xf32>
}

// -----

// A half with another user: the halves must be materialised anyway.
// CHECK-LABEL: func.func @half_with_other_user_not_applicable
// CHECK: tensor.extract_slice
// CHECK: tensor.concat
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @half_with_other_user_not_applicable(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x4xf32>) {
  %w = arith.constant dense<[[-0.29, 0.96, 0.50, -0.77, 0.62, -0.38, 0.56, -0.97], [0.74, -0.68, -0.09, 0.32, 0.02, -0.67, -0.72, -0.43], [-0.90, -0.57, -0.74, -0.07, -0.29, 0.17, -0.44, -0.93], [-0.34, 0.51, -0.49, -0.19, 0.51, -0.19, 0.77, 0.84], [-0.38, 0.47, -0.49, -0.72, -0.12, 0.20, 0.87, -0.71], [0.42, -0.05, -0.74, 0.95, 0.39, -0.74, 0.81, -0.79], [-0.81, -0.34, 0.88, -0.93, 0.84, 0.22, -0.87, 0.14], [-0.08, 0.13, 0.47, 0.36, 0.99, -0.69, 0.63, -0.18]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>

  return %rh, %x1 : tensor<4x8xf32>, tensor<4x4xf32>
}

// -----

// The weight is shared with another matmul, so folding at a fixed position
// would keep both weights alive: over the default budget, it is fused instead.
// CHECK-LABEL: func.func @decode_fold_over_budget_fused
// CHECK-COUNT-2: linalg.matmul
// CHECK: linalg.generic
// CHECK: arith.subf
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bh = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
func.func @decode_fold_over_budget_fused(%x: tensor<1x8xf32>) -> (tensor<1x2x1x4xf32>, tensor<1x8xf32>) {
  %w = arith.constant dense<[[0.57, 0.78, 0.98, -0.47, -0.09, 0.89, 0.89, -0.25], [0.88, -0.19, -0.25, 0.51, -0.06, -0.10, -0.23, -0.13], [-0.72, -0.88, 0.51, 0.13, 0.34, 0.60, -0.54, -0.53], [-0.44, -0.39, 0.52, -0.25, -0.35, 0.27, -0.63, -0.79], [0.39, 0.51, -0.41, 0.27, -0.93, -0.19, 0.16, -0.49], [-0.30, 0.22, 0.18, -0.69, 0.41, -0.84, 0.94, -0.60], [-0.49, -0.60, 0.98, -0.43, 0.21, 0.98, 0.90, -0.92], [0.04, 0.20, 0.40, -0.33, -0.34, -0.99, -0.93, 0.10]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[[[-0.85, -0.60, -0.33, -0.86]]]]> : tensor<1x1x1x4xf32>
  %sin = arith.constant dense<[[[[-0.94, 0.85, -0.13, -0.59]]]]> : tensor<1x1x1x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x1x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x1x2x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) permutation = [0, 2, 1, 3]
  %y2 = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %tc = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t, %cos : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %x2 = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %eh = tensor.empty() : tensor<1x2x1x2xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x1x2xf32>) outs(%eh : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  // expected-remark@-5 {{attn-fold-rotate-half: rotary embedding folded into the projection weights skipped: would grow constants by 224 bytes}}
  return %r, %y2 : tensor<1x2x1x4xf32>, tensor<1x8xf32>
}

// Partial rotary in prefill: the rotated part of each head is fused, the
// pass-through part is concatenated back as before.
// NEOX-LABEL: func.func @forward
// NEOX-NOT: arith.negf %in
// NEOX: linalg.generic
// NEOX: arith.subf
// NEOX-NOT: arith.negf %in
// NEOX: linalg.generic
// NEOX: arith.subf
// NEOX-NOT: arith.negf %in
// NEOX: tensor.concat dim(3)
// NEOX-NOT: arith.negf %in
// NEOX: linalg.batch_matmul

// The decode fixture: q and k rotary folded into their projections.
// DECODE-LABEL: func.func @forward
// DECODE-NOT: tensor.extract_slice
// DECODE-NOT: linalg.index
// DECODE: linalg.batch_matmul

// -----

// Must not fold: the projection accumulates into 1.0, so the rotary expression
// is not x @ W' (the constant init would be rotated too); it is fused instead.
// CHECK-LABEL: func.func @decode_nonzero_init_not_folded
// CHECK: linalg.fill
// CHECK: linalg.matmul ins(%arg0, %{{.*}} : tensor<1x8xf32>, tensor<8x8xf32>)
// CHECK: linalg.generic
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bh = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
func.func @decode_nonzero_init_not_folded(%x: tensor<1x8xf32>) -> tensor<1x2x1x4xf32> {
  %w = arith.constant dense<[[-0.64, -0.31, 0.90, 0.15, -0.32, -0.46, 0.90, -0.11], [0.96, 0.03, 0.04, 0.79, 0.49, 0.16, -0.15, 0.76], [-0.18, 0.85, -0.86, -0.14, 0.04, 0.90, -0.50, 0.61], [0.35, 0.43, 0.26, 0.94, -0.33, -0.20, -0.59, -0.90], [-0.57, 0.83, 0.68, -0.78, 0.21, -0.04, 0.19, 0.32], [-0.39, 0.92, -0.07, 0.26, 0.27, -0.63, -0.88, -0.18], [0.53, 0.63, 0.46, -0.77, 0.83, 0.60, 0.76, 0.05], [0.83, -0.91, -0.94, -0.96, -0.49, -0.50, -0.62, 0.13]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[[[-0.92, 0.18, -0.67, 0.36]]]]> : tensor<1x1x1x4xf32>
  %sin = arith.constant dense<[[[[-0.96, -0.38, 0.88, 0.08]]]]> : tensor<1x1x1x4xf32>
  %zero = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %h = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  %e4 = tensor.empty() : tensor<1x2x1x4xf32>
  %t = linalg.transpose ins(%h : tensor<1x1x2x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) permutation = [0, 2, 1, 3]
  %tc = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t, %cos : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %x2 = tensor.extract_slice %t[0, 0, 0, 2] [1, 2, 1, 2] [1, 1, 1, 1] : tensor<1x2x1x4xf32> to tensor<1x2x1x2xf32>
  %eh = tensor.empty() : tensor<1x2x1x2xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x2 : tensor<1x2x1x2xf32>) outs(%eh : tensor<1x2x1x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x2xf32>
  %rh = tensor.concat dim(3) %n, %x1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x4xf32>
  %rs = linalg.generic {indexing_maps = [#id4, #bh, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rh, %sin : tensor<1x2x1x4xf32>, tensor<1x1x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%tc, %rs : tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) outs(%e4 : tensor<1x2x1x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x2x1x4xf32>
  return %r : tensor<1x2x1x4xf32>
}

// -----

// Other spellings of the same rotary: negation as `mulf x, -1`, rotate_half built
// by two insert_slices (in any order), cos and sin as the first operands of their
// products and the sum's operands swapped. Fused like @prefill_fused.
// CHECK-LABEL: func.func @spellings_mulf_minus_one_inserts
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK-NOT: tensor.concat
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @spellings_mulf_minus_one_inserts(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %m1 = arith.constant -1.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%cos, %t : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %m1 : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %ef = tensor.empty() : tensor<4x8xf32>
  %i0 = tensor.insert_slice %x1 into %ef[0, 4] [4, 4] [1, 1] : tensor<4x4xf32> into tensor<4x8xf32>
  %rh = tensor.insert_slice %n into %i0[0, 0] [4, 4] [1, 1] : tensor<4x4xf32> into tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sin, %rh : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rs, %tc : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Negation as `0 - x` (what some exporters emit for `-x`).
// CHECK-LABEL: func.func @spellings_subf_zero_concat
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK-NOT: tensor.concat
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @spellings_subf_zero_concat(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %m1 = arith.constant -1.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%cos, %t : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.subf %zero, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sin, %rh : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rs, %tc : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Must not fire: the negated second half is inserted second, the first half
// first: cat(x1, -x2) is not rotate_half.
// CHECK-LABEL: func.func @inserts_wrong_order_not_applicable
// CHECK: tensor.insert_slice
// CHECK: tensor.insert_slice
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @inserts_wrong_order_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %m1 = arith.constant -1.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%cos, %t : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %ef = tensor.empty() : tensor<4x8xf32>
  %i0 = tensor.insert_slice %x1 into %ef[0, 0] [4, 4] [1, 1] : tensor<4x4xf32> into tensor<4x8xf32>
  %rh = tensor.insert_slice %n into %i0[0, 4] [4, 4] [1, 1] : tensor<4x4xf32> into tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sin, %rh : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rs, %tc : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Must not fire: the "negation" multiplies by -2, not -1.
// CHECK-LABEL: func.func @scaled_not_negation_not_applicable
// CHECK: tensor.concat
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @scaled_not_negation_not_applicable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %m1 = arith.constant -1.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%cos, %t : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 4] [4, 4] [1, 1] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m2 = arith.addf %m1, %m1 : f32
    %m = arith.mulf %a, %m2 : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %rh = tensor.concat dim(1) %n, %x1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sin, %rh : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rs, %tc : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// GPT-J's interleaved rotary (rotate_every_two: even/odd lanes by stride-2 slices,
// stacked and flattened back), prefill: fused into the kernel's form with stride 2.
// CHECK-LABEL: func.func @interleaved_prefill_fused
// CHECK: %[[Y:.*]] = linalg.matmul
// CHECK: tensor.extract_slice %[[Y]][0, 0] [4, 4] [1, 2]
// CHECK: tensor.extract_slice %[[Y]][0, 1] [4, 4] [1, 2]
// CHECK: linalg.generic
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [4, 4] [1, 2]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 1] [4, 4] [1, 2]
// CHECK-NOT: tensor.concat
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @interleaved_prefill_fused(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.52, -0.20, -0.81, 0.94, -0.57, 0.34, -0.40], [0.75, 0.32, -0.74, 0.69, 0.89, 0.81, 0.14, -0.71], [-0.62, 0.86, 0.10, -0.64, 0.77, 0.28, 0.14, -0.25], [-0.18, -0.52, -0.92, 0.75, -0.06, 0.10, -0.36, 0.50]]> : tensor<4x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.26, -0.94, -0.75, 0.93, 0.32, -0.14, 0.05], [0.75, -0.31, 0.18, 0.37, -0.29, 0.04, 0.53, 0.82], [-0.70, 0.87, -0.99, 0.51, 0.62, -0.73, -0.16, 0.63], [-0.97, 0.26, 0.59, 0.03, 0.45, -0.55, -0.60, -0.27]]> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %cos : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [4, 4] [1, 2] : tensor<4x8xf32> to tensor<4x4xf32>
  %x2 = tensor.extract_slice %t[0, 1] [4, 4] [1, 2] : tensor<4x8xf32> to tensor<4x4xf32>
  %eh = tensor.empty() : tensor<4x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<4x4xf32>) outs(%eh : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %ne = tensor.expand_shape %n [[0], [1, 2]] output_shape [4, 4, 1] : tensor<4x4xf32> into tensor<4x4x1xf32>
  %xe = tensor.expand_shape %x1 [[0], [1, 2]] output_shape [4, 4, 1] : tensor<4x4xf32> into tensor<4x4x1xf32>
  %st = tensor.concat dim(2) %ne, %xe : (tensor<4x4x1xf32>, tensor<4x4x1xf32>) -> tensor<4x4x2xf32>
  %rh = tensor.collapse_shape %st [[0], [1, 2]] : tensor<4x4x2xf32> into tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rh, %sin : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%tc, %rs : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Interleaved rotary at a fixed position (one token, constant cos/sin): folded
// into the projection weights like rotate_half.
// CHECK-LABEL: func.func @interleaved_decode_folded
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<8x8xf32>
// CHECK: %[[Y:.*]] = linalg.matmul ins(%arg0, %[[W]]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @interleaved_decode_folded(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = arith.constant dense<[[0.25, 0.79, 0.55, -0.55, -0.40, 0.75, -0.99, 0.64], [0.59, -0.06, -0.39, -0.44, -0.49, -0.11, 0.01, 0.11], [0.99, 0.59, 0.24, 0.98, -0.57, -0.68, 0.23, -0.91], [-0.93, 0.03, -0.07, 0.83, 0.26, 0.03, -0.01, -0.50], [-0.98, -0.62, 0.38, -0.60, -0.26, -0.99, 0.66, -0.69], [-0.46, 0.76, 0.02, 0.69, 0.28, 0.48, -0.82, 0.08], [0.02, 0.74, -0.28, 0.20, -0.88, -0.22, -0.35, -0.70], [0.63, -0.24, 0.96, 0.18, 0.21, 0.28, 0.35, -0.70]]> : tensor<8x8xf32>
  %cos = arith.constant dense<[[-0.12, -0.12, -0.20, -0.20, 0.94, 0.94, 0.34, 0.34]]> : tensor<1x8xf32>
  %sin = arith.constant dense<[[-0.95, -0.95, -0.94, -0.94, 0.93, 0.93, -0.14, -0.14]]> : tensor<1x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %t = linalg.matmul ins(%x, %w : tensor<1x8xf32>, tensor<8x8xf32>) outs(%z : tensor<1x8xf32>) -> tensor<1x8xf32>
  %tc = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %cos : tensor<1x8xf32>, tensor<1x8xf32>) outs(%e : tensor<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x8xf32>
  %x1 = tensor.extract_slice %t[0, 0] [1, 4] [1, 2] : tensor<1x8xf32> to tensor<1x4xf32>
  %x2 = tensor.extract_slice %t[0, 1] [1, 4] [1, 2] : tensor<1x8xf32> to tensor<1x4xf32>
  %eh = tensor.empty() : tensor<1x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2 : tensor<1x4xf32>) outs(%eh : tensor<1x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x4xf32>
  %ne = tensor.expand_shape %n [[0], [1, 2]] output_shape [1, 4, 1] : tensor<1x4xf32> into tensor<1x4x1xf32>
  %xe = tensor.expand_shape %x1 [[0], [1, 2]] output_shape [1, 4, 1] : tensor<1x4xf32> into tensor<1x4x1xf32>
  %st = tensor.concat dim(2) %ne, %xe : (tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %rh = tensor.collapse_shape %st [[0], [1, 2]] : tensor<1x4x2xf32> into tensor<1x8xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rh, %sin : tensor<1x8xf32>, tensor<1x8xf32>) outs(%e : tensor<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%tc, %rs : tensor<1x8xf32>, tensor<1x8xf32>) outs(%e : tensor<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}
