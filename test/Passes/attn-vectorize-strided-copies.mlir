// RUN: %attn_opt %s --split-input-file --attn-vectorize-strided-copies | FileCheck %s

// A copy between strided views becomes vector rows (no memrefCopy runtime call).
// CHECK-LABEL: func @strided_rows
// CHECK-NOT: memref.copy
// CHECK: vector.transfer_read {{.*}} vector<1x64xf32>
// CHECK: vector.transfer_write
func.func @strided_rows(%a: memref<16x128xf32>, %b: memref<16x64xf32, strided<[128, 1], offset: 64>>) {
  %s = memref.subview %a[0, 0] [16, 64] [1, 1] : memref<16x128xf32> to memref<16x64xf32, strided<[128, 1]>>
  memref.copy %s, %b : memref<16x64xf32, strided<[128, 1]>> to memref<16x64xf32, strided<[128, 1], offset: 64>>
  return
}

// -----

// Contiguous copies stay memcpy-able memref.copy ops.
// CHECK-LABEL: func @contiguous_not_applicable
// CHECK: memref.copy
func.func @contiguous_not_applicable(%a: memref<16x64xf32>, %b: memref<16x64xf32>) {
  memref.copy %a, %b : memref<16x64xf32> to memref<16x64xf32>
  return
}
