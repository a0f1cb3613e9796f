// RUN: %attn_opt %s | %attn_opt | FileCheck %s
// RUN: %attn_opt %s --mlir-print-op-generic | %attn_opt | FileCheck %s

// CHECK-LABEL: func.func @attention
// CHECK: linalg.matmul
// CHECK: linalg.softmax dimension(1)
func.func @attention(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %p : tensor<4x4xf32>
}
