// Inputs on which MLIR's parser asserts (killing the process) after reporting an
// error: attn-opt reports the located error, exit 1, no abort.

// RUN: %exit_code %attn_opt %s --split-input-file 2>&1 | FileCheck %s
// CHECK: attn-opt-parser-aborts.mlir:[[@LINE+4]]:{{[0-9]+}}: error: expected integer value, got '0.5'
// CHECK-NOT: signal
func.func @t(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0.5]
  return %t : tensor<8x4xf32>
}

// -----

// A file cut in the middle of its resource blob.
// CHECK: attn-opt-parser-aborts.mlir:[[@LINE+9]]:{{[0-9]+}}: error: expected '"' in string literal
// CHECK: exit 1
func.func @c() -> tensor<2xf32> {
  %c = arith.constant dense_resource<w> : tensor<2xf32>
  return %c : tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x0400000000000000
