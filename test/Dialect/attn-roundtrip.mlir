// The IRDL definition loads into upstream mlir-opt: ops parse, verify and print
// back identically, alone and in the output of the raising pass.
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %s | %mlir_opt --irdl-file=%dialect/attn.irdl.mlir | FileCheck %s
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %s --mlir-print-op-generic | %attn_opt | FileCheck %s
// RUN: %attn_opt %s | %mlir_opt --irdl-file=%dialect/attn.irdl.mlir | FileCheck %s
// RUN: %attn_opt %fixtures/gqa.mlir --attn-raise | %mlir_opt --irdl-file=%dialect/attn.irdl.mlir | FileCheck %s --check-prefix=RAISED

// CHECK-LABEL: func.func @ops
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}) {causal = false, scale = 1.250000e-01 : f32} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>) -> tensor<2x4x8xf32>
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {causal = true, scale = 1.250000e-01 : f32} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<4x6xf32>) -> tensor<2x4x8xf32>
// CHECK: "attn.rotary"(%{{.*}}, %{{.*}}, %{{.*}}) {rotary_dim = 8 : i64, style = "half"}
// CHECK: "attn.rotary"(%{{.*}}, %{{.*}}, %{{.*}}) {rotary_dim = 4 : i64, style = "interleaved"}
// RAISED: "attn.rotary"
// RAISED: "attn.sdpa"
func.func @ops(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x8xf32>, %m: tensor<4x6xf32>, %c: tensor<4x8xf32>, %c4: tensor<4x4xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %0 = "attn.sdpa"(%q, %k, %v) {scale = 0.125 : f32, causal = false} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>) -> tensor<2x4x8xf32>
  %1 = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.125 : f32, causal = true} : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<4x6xf32>) -> tensor<2x4x8xf32>
  %2 = "attn.rotary"(%q, %c, %c) {style = "half", rotary_dim = 8 : i64} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  %3 = "attn.rotary"(%q, %c4, %c4) {style = "interleaved", rotary_dim = 4 : i64} : (tensor<2x4x8xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<2x4x8xf32>
  return %0, %1, %2, %3 : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
}
