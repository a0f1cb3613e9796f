// RUN: %attn_opt %s -p 'builtin.module(attn-decompose-softmax,canonicalize)' --mlir-print-ir-after-all 2>&1 >/dev/null | FileCheck %s --check-prefix=AFTER
// RUN: %attn_opt %s -p 'builtin.module(attn-decompose-softmax,canonicalize)' --mlir-print-ir-before-all 2>&1 >/dev/null | FileCheck %s --check-prefix=BEFORE
// RUN: %attn_opt %s -p 'builtin.module(attn-decompose-softmax,canonicalize)' --mlir-timing 2>&1 >/dev/null | FileCheck %s --check-prefix=TIMING
// RUN: %attn_opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// RUN: %attn_opt %s --mlir-print-op-generic | %attn_opt | FileCheck %s --check-prefix=CUSTOM

// Project and upstream passes are printed and timed alike, on stderr.
// AFTER: // -----// IR Dump After attn-decompose-softmax (attn-decompose-softmax) //----- //
// AFTER: linalg.generic
// AFTER: // -----// IR Dump After Canonicalizer (canonicalize) //----- //
// AFTER: func.func @softmax

// BEFORE: // -----// IR Dump Before attn-decompose-softmax (attn-decompose-softmax) //----- //
// BEFORE: linalg.softmax
// BEFORE: // -----// IR Dump Before Canonicalizer (canonicalize) //----- //
// BEFORE-NOT: linalg.softmax

// TIMING: Execution time report
// TIMING: attn-decompose-softmax
// TIMING: Canonicalizer
// TIMING: Total

// GENERIC: "func.func"() <{function_type = (tensor<2x4xf32>) -> tensor<2x4xf32>, sym_name = "softmax"}>
// GENERIC: "linalg.softmax"(%{{.*}}, %{{.*}}) <{dimension = 1 : i64}>
// CUSTOM: func.func @softmax
// CUSTOM: linalg.softmax dimension(1)
func.func @softmax(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}
