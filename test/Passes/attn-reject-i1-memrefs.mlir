// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-reject-i1-memrefs | FileCheck %s
// RUN: not %attn_opt %s --split-input-file --attn-to-llvm 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: not %attn_opt %s --split-input-file -p 'builtin.module(finalize-memref-to-llvm)' 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: not %attn_opt %s --split-input-file -p 'builtin.module(convert-to-llvm)' 2>&1 | FileCheck %s --check-prefix=LOWER

// The check runs before every LLVM lowering of memrefs, in attn-to-llvm and in any
// pipeline that names one: an error, not an abort.
// LOWER: attn-reject-i1-memrefs.mlir:[[@LINE+7]]:3: error: 'memref.store' accesses i1 elements in memory
// LOWER: attn-reject-i1-memrefs.mlir:{{[0-9]+}}:3: error: '{{linalg.fill|memref.store}}' accesses i1 elements in memory
// LOWER: attn-reject-i1-memrefs.mlir:{{[0-9]+}}:8: error: 'memref.load' accesses i1 elements in memory

// CHECK-NOT: func.func @store_i1
func.func @store_i1(%m: memref<4xi1>, %i: index, %b: i1) {
  // expected-error@+1 {{'memref.store' accesses i1 elements in memory}}
  memref.store %b, %m[%i] : memref<4xi1>
  return
}

// -----

func.func @fill_i1(%m: memref<4xi1>) {
  %true = arith.constant true
  // expected-error@+1 {{'linalg.fill' accesses i1 elements in memory}}
  linalg.fill ins(%true : i1) outs(%m : memref<4xi1>)
  return
}

// -----

func.func @load_i1(%m: memref<4xi1>, %o: memref<4xi8>, %i: index) {
  // expected-error@+1 {{'memref.load' accesses i1 elements in memory}}
  %b = memref.load %m[%i] : memref<4xi1>
  %w = arith.extui %b : i1 to i8
  memref.store %w, %o[%i] : memref<4xi8>
  return
}

// -----

// i8 memory holding booleans is fine.
// CHECK-LABEL: func.func @load_store_i8_not_applicable
// CHECK: memref.load
// CHECK: memref.store
func.func @load_store_i8_not_applicable(%m: memref<4xi8>, %o: memref<4xi8>, %i: index) {
  %w = memref.load %m[%i] : memref<4xi8>
  memref.store %w, %o[%i] : memref<4xi8>
  return
}
