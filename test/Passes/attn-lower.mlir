// RUN: %attn_opt %s --split-input-file --attn-lower | FileCheck %s
// RUN: %attn_opt %s --split-input-file -p 'builtin.module(attn-lower{tile-q=16 tile-kv=32})' | FileCheck %s --check-prefix=TILES
// RUN: %attn_opt %s --split-input-file -p 'builtin.module(attn-lower{naive})' | FileCheck %s --check-prefix=NAIVE
// RUN: %attn_opt %s --split-input-file -p 'builtin.module(attn-lower{max-score-bytes=1})' | FileCheck %s --check-prefix=AUTO

// The online-softmax kernel: K transposed once, an scf.forall over (group,
// query tile), a loop over key/value blocks carrying (max, sum, accumulator)
// whose two products are plain matmuls, exp2, then the tails (Sq = 100 = 64 +
// 36: a second forall; Skv = 100 = 64 + 36: a last block) with static sizes.
// CHECK-LABEL: func.func @sdpa
// CHECK-NOT: attn.sdpa
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x100x64xf32>) outs(%{{.*}} : tensor<2x64x100xf32>) permutation = [0, 2, 1]
// CHECK: scf.forall ({{.*}}) in (2, 1) shared_outs({{.*}}) -> (tensor<2x100x32xf32>)
// CHECK: tensor.extract_slice {{.*}} to tensor<64x64xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (tensor<64xf32>, tensor<64xf32>, tensor<64x32xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x64xf32>) outs(%{{.*}} : tensor<64x64xf32>)
// CHECK: math.exp2
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x32xf32>) outs(%{{.*}} : tensor<64x32xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x36xf32>)
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice {{.*}} [1, 64, 32] [1, 1, 1] : tensor<64x32xf32> into tensor<2x100x32xf32>
// CHECK: scf.forall ({{.*}}) in (2, 1) shared_outs
// CHECK: tensor.parallel_insert_slice {{.*}} [1, 36, 32] [1, 1, 1] : tensor<36x32xf32> into tensor<2x100x32xf32>
// CHECK: return {{.*}} : tensor<2x100x32xf32>
// TILES-LABEL: func.func @sdpa
// TILES: scf.for {{.*}} -> (tensor<16xf32>, tensor<16xf32>, tensor<16x32xf32>)
// TILES: tensor<16x4xf32>
// TILES: tensor<4x32xf32>
// The naive lowering materialises the 2x100x100 scores and uses linalg.softmax.
// NAIVE-LABEL: func.func @sdpa
// NAIVE-NOT: scf.for
// NAIVE: linalg.softmax dimension(2) ins(%{{.*}} : tensor<2x100x100xf32>)
// NAIVE: return {{.*}} : tensor<2x100x32xf32>
func.func @sdpa(%q: tensor<2x100x64xf32>, %k: tensor<2x100x64xf32>, %v: tensor<2x100x32xf32>) -> tensor<2x100x32xf32> {
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.125 : f32, causal = false} : (tensor<2x100x64xf32>, tensor<2x100x64xf32>, tensor<2x100x32xf32>) -> tensor<2x100x32xf32>
  return %o : tensor<2x100x32xf32>
}

// -----

// Causal: the key/value loop of each query tile stops at its diagonal
// (min(qs + tile + Skv - Sq, Skv)); the tail block runs only if reached.
// Grouped-query attention: query group g reads key/value group g / 4.
// CHECK-LABEL: func.func @causal_gqa
// CHECK: arith.divui %{{.*}}, %c4
// CHECK: arith.minsi
// CHECK: scf.for
// CHECK: linalg.matmul
// CHECK: arith.cmpi sle
// CHECK: scf.if
// CHECK: return {{.*}} : tensor<1x8x10x16xf32>
// NAIVE-LABEL: func.func @causal_gqa
// NAIVE: tensor.collapse_shape {{.*}} into tensor<8x100x16xf32>
// NAIVE: linalg.softmax
func.func @causal_gqa(%q: tensor<1x8x10x16xf32>, %k: tensor<1x2x100x16xf32>, %v: tensor<1x2x100x16xf32>) -> tensor<1x8x10x16xf32> {
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.25 : f32, causal = true} : (tensor<1x8x10x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>) -> tensor<1x8x10x16xf32>
  return %o : tensor<1x8x10x16xf32>
}

// -----

// A padding mask [1, Skv] is read one row for every query row.
// CHECK-LABEL: func.func @masked
// CHECK: tensor.extract_slice %{{.*}}[%c0, %c0, %{{.*}}] [1, 1, 5] [1, 1, 1] : tensor<1x1x5xf32> to tensor<1x5xf32>
func.func @masked(%q: tensor<3x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>, %m: tensor<1x5xf32>) -> tensor<3x8xf32> {
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 1.0 : f32, causal = false} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<5x8xf32>, tensor<1x5xf32>) -> tensor<3x8xf32>
  return %o : tensor<3x8xf32>
}

// -----

// Rotary: one generic over the rotated pairs, written back with insert_slice;
// half pairs (d, d + R/2), interleaved pairs (2i, 2i + 1) via stride 2.
// CHECK-LABEL: func.func @rotary_half_partial
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0] [2, 6, 4] [1, 1, 1] : tensor<2x6x16xf32> to tensor<2x6x4xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 4] [2, 6, 4] [1, 1, 1]
// CHECK: linalg.generic
// CHECK: linalg.copy ins(%{{.*}} : tensor<2x6x16xf32>)
// CHECK: tensor.insert_slice {{.*}} into %{{.*}}[0, 0, 4] [2, 6, 4] [1, 1, 1] : tensor<2x6x4xf32> into tensor<2x6x16xf32>
// CHECK-LABEL: func.func @rotary_interleaved
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1] [2, 6, 8] [1, 1, 2] : tensor<2x6x16xf32> to tensor<2x6x8xf32>
func.func @rotary_half_partial(%x: tensor<2x6x16xf32>, %cos: tensor<6x8xf32>, %sin: tensor<6x8xf32>) -> tensor<2x6x16xf32> {
  %r = "attn.rotary"(%x, %cos, %sin) {style = "half", rotary_dim = 8 : i64} : (tensor<2x6x16xf32>, tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<2x6x16xf32>
  return %r : tensor<2x6x16xf32>
}
func.func @rotary_interleaved(%x: tensor<2x6x16xf32>, %cos: tensor<6x16xf32>, %sin: tensor<6x16xf32>) -> tensor<2x6x16xf32> {
  %r = "attn.rotary"(%x, %cos, %sin) {style = "interleaved", rotary_dim = 16 : i64} : (tensor<2x6x16xf32>, tensor<6x16xf32>, tensor<6x16xf32>) -> tensor<2x6x16xf32>
  return %r : tensor<2x6x16xf32>
}

// -----

// With a nonzero max-score-bytes, a decode step (one query row per head, no
// grouped-query sharing) takes the chain: no key block would be reused.
// AUTO-LABEL: func.func @decode_step
// AUTO-NOT: scf.forall
// AUTO: linalg.softmax
// CHECK-LABEL: func.func @decode_step
// CHECK: scf.forall
func.func @decode_step(%q: tensor<4x1x16xf32>, %k: tensor<4x50x16xf32>, %v: tensor<4x50x16xf32>) -> tensor<4x1x16xf32> {
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.25 : f32, causal = false} : (tensor<4x1x16xf32>, tensor<4x50x16xf32>, tensor<4x50x16xf32>) -> tensor<4x1x16xf32>
  return %o : tensor<4x1x16xf32>
}

// -----

// Grouped-query decode keeps the fused kernel (the chain would repeat K and V),
// in its split-key form: the 4 query heads of the kv group are the rows of one
// [4, 16] tile, K is read as stored (no K^T copy; the score matmul reads the
// [tk, D] block through a transposed map), the 200 keys are split into 6
// ranges of one 32-key block (scf.forall over (kv group, split)), the last 8
// keys are a second forall over kv groups, and a combine rescales the 7 partials.
// AUTO-LABEL: func.func @decode_step_gqa_negative
// AUTO: scf.forall
// AUTO-NOT: linalg.softmax
// TILES-LABEL: func.func @decode_step_gqa_negative
// TILES-NOT: linalg.transpose
// TILES: tensor.expand_shape {{.*}} output_shape [1, 4, 16] : tensor<4x16xf32> into tensor<1x4x16xf32>
// TILES: scf.forall ({{.*}}) in (1, 6) shared_outs({{.*}}) -> (tensor<1x7x4xf32>, tensor<1x7x4xf32>, tensor<1x7x4x16xf32>)
// TILES: scf.for
// TILES: tensor.extract_slice %{{.*}} [1, 32, 16] [1, 1, 1] : tensor<1x200x16xf32> to tensor<32x16xf32>
// TILES: linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<32x16xf32>) outs(%{{.*}} : tensor<4x32xf32>)
// TILES: tensor.parallel_insert_slice %{{.*}} [1, 1, 4, 16] [1, 1, 1, 1] : tensor<4x16xf32> into tensor<1x7x4x16xf32>
// TILES: scf.forall ({{.*}}) in (1, 1) shared_outs
// TILES: tensor<8x16xf32>
// TILES: math.exp2
// TILES: arith.divf
// TILES: return {{.*}} : tensor<4x1x16xf32>
func.func @decode_step_gqa_negative(%q: tensor<4x1x16xf32>, %k: tensor<1x200x16xf32>, %v: tensor<1x200x16xf32>) -> tensor<4x1x16xf32> {
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.25 : f32, causal = false} : (tensor<4x1x16xf32>, tensor<1x200x16xf32>, tensor<1x200x16xf32>) -> tensor<4x1x16xf32>
  return %o : tensor<4x1x16xf32>
}

// -----

// Sliding window (causal, W = 5, tiles 16 x 32): each query tile's key loop starts
// at the block holding its first row's first visible key, (max(i' - 4, 0) / 32) * 32,
// and stops after its diagonal block; the i1 mask [Hq, Sq, Skv] is read per
// (batch, head) group at g mod Hq, never copied to [B, Hq, Sq, Skv].
// TILES-LABEL: func.func @window_bool_bias
// TILES-NOT: tensor.empty() : tensor<2x3x40x40xi1>
// TILES: %[[G:.*]] = arith.remui %{{.*}}, %c3 : index
// TILES: arith.minsi
// TILES: %[[LAST:.*]] = arith.minsi
// TILES: %[[FIRST:.*]] = arith.subi %[[QPOS:.*]], %c4 : index
// TILES: %[[CLAMP:.*]] = arith.maxsi %[[FIRST]], %c0 : index
// TILES: %[[BLK:.*]] = arith.divui %[[CLAMP]], %c32 : index
// TILES: %[[LB:.*]] = arith.muli %[[BLK]], %c32 : index
// TILES: scf.for %[[KS:.*]] = %[[LB]] to %[[LAST]] step %c32
// TILES: tensor.extract_slice %{{.*}}[%[[G]], %{{.*}}, %[[KS]]] [1, 16, 32] [1, 1, 1] : tensor<3x40x40xi1> to tensor<16x32xi1>
// TILES: arith.select %{{.*}}, %{{.*}}, %cst : f32
// TILES: arith.cmpi sle
// TILES: arith.subi %{{.*}}, %c5 : index
// TILES: arith.cmpi sgt
// TILES: arith.andi
// The naive chain guards its softmax (a row may see no key): no linalg.softmax.
// NAIVE-LABEL: func.func @window_bool_bias
// NAIVE-NOT: linalg.softmax
// NAIVE: arith.cmpf oeq
// NAIVE: math.exp
// NAIVE: arith.divf
func.func @window_bool_bias(%q: tensor<2x3x40x8xf32>, %k: tensor<2x3x40x8xf32>, %v: tensor<2x3x40x8xf32>, %m: tensor<3x40x40xi1>) -> tensor<2x3x40x8xf32> {
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = true, window = 5 : i64} : (tensor<2x3x40x8xf32>, tensor<2x3x40x8xf32>, tensor<2x3x40x8xf32>, tensor<3x40x40xi1>) -> tensor<2x3x40x8xf32>
  return %o : tensor<2x3x40x8xf32>
}
