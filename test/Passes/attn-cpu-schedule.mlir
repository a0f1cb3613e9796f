// RUN: %attn_opt %s --split-input-file -p 'builtin.module(attn-decompose-softmax,attn-cpu-schedule{threads=2})' | FileCheck %s

// A large matmul becomes parallel thread tiles (scf.forall) around a register
// tile (8x32 with AVX-512; 6x16 over one B panel without it) whose K loop
// carries the accumulator in registers and computes it with broadcast FMAs.
// CHECK-LABEL: func @matmul
// CHECK: scf.forall
// CHECK: scf.for {{.*}} -> (vector<{{8x1x32|6x1x16}}xf32>)
// CHECK: vector.fma {{.*}} : vector<{{32|16}}xf32>
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: tensor<256x128xf32>, %b: tensor<128x256xf32>) -> tensor<256x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<256x256xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  %r = linalg.matmul ins(%a, %b : tensor<256x128xf32>, tensor<128x256xf32>) outs(%z : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// A matmul too small to pay for a parallel region stays on one thread.
// CHECK-LABEL: func @small_matmul
// CHECK-NOT: scf.forall (
// CHECK: vector.fma
func.func @small_matmul(%a: tensor<16x32xf32>, %b: tensor<32x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x32xf32>, tensor<32x32xf32>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}

// -----

// Rows that do not fill a register tile are split off statically: every
// micro-kernel has a static shape and needs no mask.
// CHECK-LABEL: func @matmul_remainder
// CHECK-NOT: vector.mask
// CHECK-NOT: linalg.matmul
func.func @matmul_remainder(%a: tensor<9x16xf32>, %b: tensor<16x32xf32>, %c: tensor<9x32xf32>) -> tensor<9x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<9x16xf32>, tensor<16x32xf32>) outs(%c : tensor<9x32xf32>) -> tensor<9x32xf32>
  return %r : tensor<9x32xf32>
}

// -----

// Elementwise generics are vectorised along their innermost dim; exp becomes
// the polynomial (no math.exp left for LLVM to scalarise).
// CHECK-LABEL: func @exp_rows
// CHECK: vector.transfer_read {{.*}} vector<64xf32>
// CHECK-NOT: math.exp
// CHECK: math.floor {{.*}} : vector<64xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @exp_rows(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = math.exp %in : f32
    linalg.yield %y : f32
  } -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// Dynamic shapes are left to the loop lowering.
// CHECK-LABEL: func @dynamic_not_applicable
// CHECK: linalg.matmul
func.func @dynamic_not_applicable(%a: tensor<?x16xf32>, %b: tensor<16x32xf32>, %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x16xf32>, tensor<16x32xf32>) outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// A decomposed softmax runs row block by row block: its max, exp, sum and
// div are fused into one scf.forall (rows stay in cache between the ops).
// CHECK-LABEL: func @softmax_rows
// CHECK: scf.forall
// CHECK: vector.reduction <maxnumf>
// CHECK: vector.reduction <add>
// CHECK: arith.divf {{.*}} : vector<64xf32>
// CHECK-NOT: scf.forall (
// CHECK: return
func.func @softmax_rows(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e = tensor.empty() : tensor<64x128xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %s : tensor<64x128xf32>
}

// -----

// A matmul reading B through a transposed map (as attn-fold-transposes leaves
// QK^T) gets B packed into the plain layout by one transpose, then the same
// register-tile kernel.
// CHECK-LABEL: func @matmul_transposed_b
// CHECK: vector.fma {{.*}} : vector<{{32|16}}xf32>
// CHECK-NOT: linalg.matmul
func.func @matmul_transposed_b(%a: tensor<64x32xf32>, %bt: tensor<48x32xf32>) -> tensor<64x48xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x48xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x48xf32>) -> tensor<64x48xf32>
  %r = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%a, %bt : tensor<64x32xf32>, tensor<48x32xf32>) outs(%z : tensor<64x48xf32>) -> tensor<64x48xf32>
  return %r : tensor<64x48xf32>
}

// -----

// torch-mlir's keep-dim RMSNorm: the unit dim of `tensor<1x32x1xf32>` is
// dropped, so the square, the sum, the rsqrt and both products run in one
// loop over row blocks (no generic left outside it, no separate pass).
// CHECK-LABEL: func @rms_norm_keep_dim
// CHECK: scf.forall
// CHECK: vector.reduction <add>
// CHECK: math.rsqrt
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rms_norm_keep_dim(%x: tensor<1x32x64xf32>, %w: tensor<64xf32>) -> tensor<1x32x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-6 : f32
  %e = tensor.empty() : tensor<1x32x64xf32>
  %er = tensor.empty() : tensor<1x32x1xf32>
  %z = linalg.fill ins(%zero : f32) outs(%er : tensor<1x32x1xf32>) -> tensor<1x32x1xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x32x64xf32>) outs(%e : tensor<1x32x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.mulf %in, %in : f32
    linalg.yield %r : f32
  } -> tensor<1x32x64xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%sq : tensor<1x32x64xf32>) outs(%z : tensor<1x32x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x32x1xf32>
  %rs = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum : tensor<1x32x1xf32>) outs(%er : tensor<1x32x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.divf %in, %n : f32
    %a = arith.addf %m, %eps : f32
    %r = math.rsqrt %a : f32
    linalg.yield %r : f32
  } -> tensor<1x32x1xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %rs, %w : tensor<1x32x64xf32>, tensor<1x32x1xf32>, tensor<64xf32>) outs(%e : tensor<1x32x64xf32>) {
  ^bb0(%in: f32, %r: f32, %wi: f32, %out: f32):
    %a = arith.mulf %in, %r : f32
    %b = arith.mulf %a, %wi : f32
    linalg.yield %b : f32
  } -> tensor<1x32x64xf32>
  return %y : tensor<1x32x64xf32>
}

// -----

// Zero-size ops have nothing to compute: they are left to the loop lowering
// (zero-trip loops) instead of being tiled.
// CHECK-LABEL: func @zero_size_left_alone
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul
// CHECK: linalg.generic
func.func @zero_size_left_alone(%a: tensor<0x8xf32>, %b: tensor<8x16xf32>) -> tensor<0x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<0x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<0x16xf32>) -> tensor<0x16xf32>
  %s = linalg.matmul ins(%a, %b : tensor<0x8xf32>, tensor<8x16xf32>) outs(%z : tensor<0x16xf32>) -> tensor<0x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<0x16xf32>) outs(%e : tensor<0x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<0x16xf32>
  return %y : tensor<0x16xf32>
}
