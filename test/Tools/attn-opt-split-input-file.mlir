// RUN: %attn_opt %s --split-input-file --mlir-print-debuginfo | FileCheck %s
// RUN: %exit_code %attn_opt %s --split-input-file -p 'builtin.module(attn-to-llvm)' 2>&1 | FileCheck %s --check-prefix=ERRORS

// Every chunk is its own module; locations count lines of the whole file.
// CHECK-LABEL: func.func @first
// CHECK: = loc("{{.*}}attn-opt-split-input-file.mlir":[[@LINE+16]]:3)
// CHECK: // -----
// CHECK-LABEL: func.func @second
// CHECK: loc("{{.*}}attn-opt-split-input-file.mlir":{{[0-9]+}}:1)
// CHECK: // -----
// CHECK-LABEL: func.func @fourth
// CHECK: arith.addf
// CHECK: = loc("{{.*}}attn-opt-split-input-file.mlir":[[@LINE+27]]:8)

// A failing chunk does not stop the others; its error has the file's line number.
// ERRORS: attn-opt-split-input-file.mlir:[[@LINE+17]]:1: error: argument 0 of @third has type tensor<2xi1>
// ERRORS: llvm.func @first
// ERRORS: llvm.func @second
// ERRORS: llvm.func @fourth
// ERRORS: exit 1
func.func @first() {
  return
}

// -----

func.func @second() {
  return
}

// -----

func.func @third(%m: tensor<2xi1>) {
  return
}

// -----

func.func @fourth(%a: f32) -> f32 {
  %b = arith.addf %a, %a : f32
  return %b : f32
}
