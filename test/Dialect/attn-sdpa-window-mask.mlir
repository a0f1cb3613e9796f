// The optional `window` attribute and i1 masks of attn.sdpa load into upstream
// mlir-opt with the IRDL file (which does not declare `window`: IRDL has no
// optional attributes and lets undeclared ones through) and round-trip; an op
// without `window` stays without one; attn-verify accepts both.
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %s | %mlir_opt --irdl-file=%dialect/attn.irdl.mlir | FileCheck %s
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %s | %attn_opt --attn-verify | FileCheck %s

// CHECK-LABEL: func.func @window_and_bool_mask
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {causal = true, scale = 1.250000e-01 : f32, window = 3 : i64} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<2x1x6xi1>) -> tensor<2x4x8xf32>
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}) {causal = false, scale = 1.250000e-01 : f32} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>) -> tensor<2x4x8xf32>
func.func @window_and_bool_mask(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x8xf32>, %m: tensor<2x1x6xi1>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %0 = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.125 : f32, causal = true, window = 3 : i64} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<2x1x6xi1>) -> tensor<2x4x8xf32>
  %1 = "attn.sdpa"(%q, %k, %v) {scale = 0.125 : f32, causal = false} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>) -> tensor<2x4x8xf32>
  return %0, %1 : tensor<2x4x8xf32>, tensor<2x4x8xf32>
}
