// RUN: %attn_opt %examples/mini_attention.mlir -p 'builtin.module(attn-to-llvm)' | FileCheck %s
// RUN: %attn_opt %examples/mini_attention.mlir --attn-to-llvm | %mlir_translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: %attn_opt %fixtures/llama_mha.mlir --attn-to-llvm | %mlir_translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// Results become caller-owned out-parameters; a C interface is emitted.
// CHECK: llvm.func @attention(
// CHECK-NOT: linalg.
// CHECK: llvm.func @_mlir_ciface_attention(
// LLVMIR: define void @_mlir_ciface_
