// RUN: %attn_opt %s --split-input-file --attn-inline-dense-resources | FileCheck %s

// A blob whose elements are all equal becomes a splat; others stay element by element.
// (An all-ones RMSNorm weight, as torch-mlir prints it, once ended in an internal error.)
// CHECK-LABEL: func.func @blobs
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00, 1.000000e+00, 1.000000e+00]> : tensor<4xf32>
// CHECK-NOT: dense_resource
func.func @blobs() -> (tensor<4xf32>, tensor<4xf32>) {
  %ones = arith.constant dense_resource<ones> : tensor<4xf32>
  %mixed = arith.constant dense_resource<mixed> : tensor<4xf32>
  return %ones, %mixed : tensor<4xf32>, tensor<4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      ones: "0x040000000000803F0000803F0000803F0000803F",
      mixed: "0x040000000000803F000000400000803F0000803F"
    }
  }
#-}
