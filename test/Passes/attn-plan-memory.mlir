// RUN: %attn_opt %s --split-input-file --attn-plan-memory | FileCheck %s
// RUN: %attn_opt %s --split-input-file --attn-plan-memory=threads=2 | FileCheck %s --check-prefix=THREADS
// RUN: %attn_opt %s --split-input-file --attn-plan-memory=threads=1 | FileCheck %s --check-prefix=ONE

// Three temporaries: %a and %b are live together, %c starts after %a's last
// use and takes %a's bytes. The workspace holds the two live at once.
// CHECK: memref.global "private" @__attn_workspace_three : memref<8192xi8> {alignment = 64 : i64}
// CHECK-LABEL: func.func @three
// CHECK-NOT: memref.alloc
// CHECK: %[[WS:.*]] = memref.get_global @__attn_workspace_three : memref<8192xi8>
// CHECK-DAG: %[[A:.*]] = memref.view %[[WS]][%[[OA:.*]]][] : memref<8192xi8> to memref<32x32xf32>
// CHECK-DAG: %[[B:.*]] = memref.view %[[WS]][%[[OB:.*]]][] : memref<8192xi8> to memref<32x32xf32>
// CHECK: linalg.add ins(%{{.*}}, %[[A]] : {{.*}}) outs(%[[B]]
// CHECK: %[[C:.*]] = memref.view %[[WS]][%[[OA]]][] : memref<8192xi8> to memref<32x32xf32>
// CHECK: linalg.add ins(%[[B]], %[[B]] : {{.*}}) outs(%[[C]]
// CHECK-NOT: memref.alloc
func.func @three(%x: memref<32x32xf32>, %out: memref<32x32xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<32x32xf32>
  linalg.add ins(%x, %a : memref<32x32xf32>, memref<32x32xf32>) outs(%b : memref<32x32xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<32x32xf32>
  linalg.add ins(%b, %b : memref<32x32xf32>, memref<32x32xf32>) outs(%c : memref<32x32xf32>)
  linalg.add ins(%c, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%out : memref<32x32xf32>)
  return
}

// -----

// A use through an alias (a subview read inside a loop) keeps the buffer alive
// until the loop: the second temporary may not share its bytes.
// CHECK: memref.global "private" @__attn_workspace_alias : memref<8192xi8>
// CHECK-LABEL: func.func @alias
// CHECK-NOT: memref.alloc
func.func @alias(%x: memref<32x32xf32>, %out: memref<32x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %a = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %s = memref.subview %a[0, 0] [16, 32] [1, 1] : memref<32x32xf32> to memref<16x32xf32, strided<[32, 1]>>
  %b = memref.alloc() : memref<32x32xf32>
  scf.for %i = %c0 to %c32 step %c1 {
    %v = memref.load %s[%c0, %i] : memref<16x32xf32, strided<[32, 1]>>
    memref.store %v, %b[%c0, %i] : memref<32x32xf32>
  }
  linalg.add ins(%b, %b : memref<32x32xf32>, memref<32x32xf32>) outs(%out : memref<32x32xf32>)
  return
}

// -----

// Not planned: a returned buffer escapes, a private or called function may be
// entered concurrently, a dynamic alloc has no static size, and a function
// with several blocks has no single order of ops.
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @returned
// CHECK: memref.alloc
func.func @returned(%x: memref<8xf32>) -> memref<8xf32> {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  return %a : memref<8xf32>
}

// CHECK-LABEL: func.func private @helper
// CHECK: memref.alloc
func.func private @helper(%x: memref<8xf32>, %out: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  memref.copy %a, %out : memref<8xf32> to memref<8xf32>
  return
}

// CHECK-LABEL: func.func @called
// CHECK: memref.alloc
func.func @called(%x: memref<8xf32>, %out: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  memref.copy %a, %out : memref<8xf32> to memref<8xf32>
  return
}

// CHECK-LABEL: func.func @caller
func.func @caller(%x: memref<8xf32>, %out: memref<8xf32>) {
  call @called(%x, %out) : (memref<8xf32>, memref<8xf32>) -> ()
  call @helper(%x, %out) : (memref<8xf32>, memref<8xf32>) -> ()
  return
}

// CHECK-LABEL: func.func @dynamic
// CHECK: memref.alloc(%{{.*}})
func.func @dynamic(%x: memref<?xf32>, %n: index, %out: memref<?xf32>) {
  %a = memref.alloc(%n) : memref<?xf32>
  memref.copy %x, %a : memref<?xf32> to memref<?xf32>
  memref.copy %a, %out : memref<?xf32> to memref<?xf32>
  return
}

// CHECK-LABEL: func.func @blocks
// CHECK: memref.alloc
func.func @blocks(%x: memref<8xf32>, %out: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  cf.br ^next
^next:
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  memref.copy %a, %out : memref<8xf32> to memref<8xf32>
  return
}

// -----

// An alias of an alias (collapse, then expand) used late keeps the buffer alive
// to that use: the second temporary may not share its bytes.
// CHECK: memref.global "private" @__attn_workspace_chain : memref<8192xi8>
// CHECK-LABEL: func.func @chain
func.func @chain(%x: memref<32x32xf32>, %out: memref<32x32xf32>) {
  %a = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %flat = memref.collapse_shape %a [[0, 1]] : memref<32x32xf32> into memref<1024xf32>
  %again = memref.expand_shape %flat [[0, 1]] output_shape [32, 32] : memref<1024xf32> into memref<32x32xf32>
  %b = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%b : memref<32x32xf32>)
  linalg.add ins(%again, %b : memref<32x32xf32>, memref<32x32xf32>) outs(%out : memref<32x32xf32>)
  return
}

// -----

// Buffers of one iteration of a parallel loop (a thread tile's scratch: one in
// the loop's body, one in a loop inside it, the init of that loop's carried
// value) get a slot of one buffer made before the loop, which the workspace then
// holds; a slot holds them one after the other (4096 + 64 + 4096 bytes). One
// slot per iteration when the thread count is unknown (4 x 2 iterations), one
// per thread of the OpenMP team with threads=2 (picked by omp_get_thread_num),
// a single one with threads=1 (the loop then runs in order). A buffer made in
// the inner loop and yielded to its next step stays an alloc: its slot would be
// overwritten while the next step still reads it.
// CHECK: memref.global "private" @__attn_workspace_tiles : memref<66048xi8>
// CHECK-LABEL: func.func @tiles
// CHECK: scf.forall (%[[I:.*]], %[[J:.*]]) in (4, 2)
// CHECK: %[[LIN:.*]] = arith.addi %{{.*}}, %[[J]] : index
// CHECK: %[[BASE:.*]] = arith.muli %[[LIN]], %c8256 : index
// CHECK: %[[OA:.*]] = arith.addi %[[BASE]], %{{.*}} : index
// CHECK: memref.view %{{.*}}[%[[OA]]][] : memref<66048xi8> to memref<32x32xf32>
// CHECK: %[[OI:.*]] = arith.addi %[[BASE]], %c4096 : index
// CHECK: memref.view %{{.*}}[%[[OI]]][] : memref<66048xi8> to memref<8xf32>
// CHECK: scf.for
// CHECK: %[[OB:.*]] = arith.addi %[[BASE]], %c4160 : index
// CHECK: memref.view %{{.*}}[%[[OB]]][] : memref<66048xi8> to memref<32x32xf32>
// CHECK: %[[CARRIED:.*]] = memref.alloc() : memref<8xf32>
// CHECK: scf.yield %[[CARRIED]]
// THREADS: memref.global "private" @__attn_workspace_tiles : memref<16512xi8>
// THREADS: llvm.func @omp_get_thread_num() -> i32
// THREADS-LABEL: func.func @tiles
// THREADS: scf.forall
// THREADS-NEXT: %[[TID:.*]] = llvm.call @omp_get_thread_num() : () -> i32
// THREADS-NEXT: %[[SLOT:.*]] = arith.index_cast %[[TID]] : i32 to index
// THREADS: %[[BASE:.*]] = arith.muli %[[SLOT]], %c8256 : index
// THREADS: arith.addi %[[BASE]]
// THREADS: memref.view %{{.*}} : memref<16512xi8> to memref<32x32xf32>
// THREADS: %[[CARRIED:.*]] = memref.alloc() : memref<8xf32>
// THREADS: scf.yield %[[CARRIED]]
// ONE: memref.global "private" @__attn_workspace_tiles : memref<8256xi8>
// ONE-NOT: omp_get_thread_num
// ONE: memref.view %{{.*}} : memref<8256xi8> to memref<32x32xf32>
// ONE: memref.alloc() : memref<8xf32>
func.func @tiles(%x: memref<128x64xf32>, %out: memref<128x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%i, %j) in (4, 2) {
    %r = affine.apply affine_map<(d0) -> (d0 * 32)>(%i)
    %c = affine.apply affine_map<(d0) -> (d0 * 32)>(%j)
    %tile = memref.subview %x[%r, %c] [32, 32] [1, 1] : memref<128x64xf32> to memref<32x32xf32, strided<[64, 1], offset: ?>>
    %a = memref.alloc() : memref<32x32xf32>
    linalg.add ins(%tile, %tile : memref<32x32xf32, strided<[64, 1], offset: ?>>, memref<32x32xf32, strided<[64, 1], offset: ?>>) outs(%a : memref<32x32xf32>)
    %init = memref.alloc() : memref<8xf32>
    %last = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (memref<8xf32>) {
      %b = memref.alloc() : memref<32x32xf32>
      linalg.add ins(%a, %a : memref<32x32xf32>, memref<32x32xf32>) outs(%b : memref<32x32xf32>)
      %next = memref.alloc() : memref<8xf32>
      linalg.fill ins(%zero : f32) outs(%next : memref<8xf32>)
      scf.yield %next : memref<8xf32>
    }
    %o = memref.subview %out[%r, %c] [32, 32] [1, 1] : memref<128x64xf32> to memref<32x32xf32, strided<[64, 1], offset: ?>>
    memref.copy %a, %o : memref<32x32xf32> to memref<32x32xf32, strided<[64, 1], offset: ?>>
  }
  return
}

// -----

// A result computed in a temporary and copied into its out-parameter through a
// reshape is computed in the out-parameter (seen through the inverse reshape):
// no copy, no temporary.
// CHECK-LABEL: func.func @reshaped_result
// CHECK-NOT: memref.alloc
// CHECK: %[[VIEW:.*]] = memref.collapse_shape %arg1 {{\[}}[0, 1], [2]] : memref<1x32x32xf32> into memref<32x32xf32>
// CHECK: linalg.add ins(%arg0, %arg0 : {{.*}}) outs(%[[VIEW]] : memref<32x32xf32>)
// CHECK-NOT: memref.copy
func.func @reshaped_result(%x: memref<32x32xf32>, %out: memref<1x32x32xf32>) {
  %a = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [1, 32, 32] : memref<32x32xf32> into memref<1x32x32xf32>
  memref.copy %e, %out : memref<1x32x32xf32> to memref<1x32x32xf32>
  return
}

// The copy stays: the temporary is read after it, or the out-parameter is read
// before it.
// CHECK-LABEL: func.func @read_after
// CHECK: memref.copy
func.func @read_after(%x: memref<32x32xf32>, %out: memref<1x32x32xf32>, %out2: memref<32x32xf32>) {
  %a = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [1, 32, 32] : memref<32x32xf32> into memref<1x32x32xf32>
  memref.copy %e, %out : memref<1x32x32xf32> to memref<1x32x32xf32>
  linalg.add ins(%a, %x : memref<32x32xf32>, memref<32x32xf32>) outs(%out2 : memref<32x32xf32>)
  return
}

// CHECK-LABEL: func.func @out_read_before
// CHECK: memref.copy
func.func @out_read_before(%x: memref<32x32xf32>, %out: memref<1x32x32xf32>) {
  %flat = memref.collapse_shape %out [[0, 1], [2]] : memref<1x32x32xf32> into memref<32x32xf32>
  %a = memref.alloc() : memref<32x32xf32>
  linalg.add ins(%x, %flat : memref<32x32xf32>, memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [1, 32, 32] : memref<32x32xf32> into memref<1x32x32xf32>
  memref.copy %e, %out : memref<1x32x32xf32> to memref<1x32x32xf32>
  return
}
