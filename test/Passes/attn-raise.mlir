// RUN: %attn_opt %s --split-input-file --attn-raise | FileCheck %s --check-prefixes=CHECK,SOFTMAX
// RUN: %attn_opt %s --split-input-file -p 'builtin.module(attn-decompose-softmax, attn-raise)' | FileCheck %s
// RUN: %attn_opt %examples/mini_attention.mlir --attn-raise | FileCheck %s --check-prefix=MINI
// RUN: %attn_opt %examples/single_head_512.mlir --attn-raise | FileCheck %s --check-prefix=HEAD512
// RUN: %attn_opt %fixtures/llama_single_head.mlir --attn-raise | FileCheck %s --check-prefix=LLAMA
// RUN: %attn_opt %fixtures/llama_mha.mlir --attn-raise | FileCheck %s --check-prefix=MHA
// RUN: %attn_opt %fixtures/gqa.mlir --attn-raise | FileCheck %s --check-prefix=GQA
// RUN: %attn_opt %fixtures/causal_sdpa.mlir --attn-raise | FileCheck %s --check-prefix=CAUSAL
// RUN: %attn_opt %fixtures/neox_partial_rotary.mlir --attn-raise | FileCheck %s --check-prefix=NEOX
// RUN: %attn_opt %fixtures/decode_fixed_position.mlir --attn-raise | FileCheck %s --check-prefix=DECODE
// RUN: %attn_opt %fixtures/rope_cos_sin_inputs.mlir --attn-raise | FileCheck %s --check-prefix=ROPE
// RUN: %attn_opt %fixtures/mini_attention.mlir --attn-raise | FileCheck %s --check-prefix=TORCHMINI

// MINI-LABEL: func.func @attention
// MINI: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}) {causal = false, scale = 1.000000e+00 : f32} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
// MINI-NOT: linalg.softmax
// MINI-NOT: linalg.transpose

// HEAD512: "attn.sdpa"{{.*}}scale = 1.250000e-01 : f32{{.*}} -> tensor<512x64xf32>
// HEAD512-NOT: tensor<512x512xf32>

// The Llama head: both rotary embeddings and the attention are raised; the
// scores `/ 4.0` become the scale; no seq x seq tensor is left.
// LLAMA-COUNT-2: "attn.rotary"(%{{.*}}) {rotary_dim = 16 : i64, style = "half"} : (tensor<1x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<1x16x16xf32>
// LLAMA: "attn.sdpa"(%{{.*}}) {causal = false, scale = 2.500000e-01 : f32} : (tensor<1x16x16xf32>, tensor<1x16x16xf32>, tensor<1x16x16xf32>) -> tensor<1x16x16xf32>
// LLAMA-NOT: linalg.batch_matmul
// LLAMA-NOT: tensor.concat

// MHA-COUNT-2: "attn.rotary"{{.*}}(tensor<1x4x16x16xf32>, tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32>)
// MHA: "attn.sdpa"{{.*}}scale = 2.500000e-01 : f32{{.*}}: (tensor<4x16x16xf32>, tensor<4x16x16xf32>, tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
// MHA-NOT: linalg.batch_matmul

// Grouped-query attention: the repeat_kv broadcast is dropped, K and V keep 2 heads.
// GQA: "attn.sdpa"{{.*}}: (tensor<4x16x16xf32>, tensor<2x16x16xf32>, tensor<2x16x16xf32>) -> tensor<4x16x16xf32>
// GQA-NOT: tensor<1x2x2x16x16xf32>

// The i1 causal mask becomes the causal flag; the fully-masked-row guard goes too.
// q and k are each scaled by 0.5: k's factor is folded into the scale.
// CAUSAL: "attn.sdpa"{{.*}}{causal = true, scale = 5.000000e-01 : f32}
// CAUSAL-NOT: i1>
// CAUSAL-NOT: linalg.batch_matmul

// Partial rotary: the first 8 of 16 channels rotate.
// NEOX-COUNT-2: "attn.rotary"{{.*}}{rotary_dim = 8 : i64, style = "half"} : (tensor<1x4x16x16xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x16xf32>
// NEOX: "attn.sdpa"
// NEOX-NOT: tensor.concat

// DECODE-COUNT-2: "attn.rotary"
// DECODE: "attn.sdpa"{{.*}}: (tensor<2x1x16xf32>, tensor<2x17x16xf32>, tensor<2x17x16xf32>) -> tensor<2x1x16xf32>

// ROPE: func.func @forward(%[[X:.*]]: tensor<1x16x32xf32>, %[[COS:.*]]: tensor<16x16xf32>, %[[SIN:.*]]: tensor<16x16xf32>)
// ROPE-COUNT-2: "attn.rotary"(%{{.*}}, %[[COS]], %[[SIN]])
// ROPE: "attn.sdpa"

// TORCHMINI: "attn.sdpa"{{.*}}: (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>

// A 2-D head with the decomposed softmax, a `mulf` scale and an additive mask.
// CHECK-LABEL: func.func @decomposed_softmax_scaled_masked
// CHECK-SAME: (%[[Q:.*]]: tensor<6x8xf32>, %[[K:.*]]: tensor<10x8xf32>, %[[V:.*]]: tensor<10x4xf32>, %[[M:.*]]: tensor<6x10xf32>)
// CHECK: %[[O:.*]] = "attn.sdpa"(%[[Q]], %[[K]], %[[V]], %[[M]]) {causal = false, scale = 3.000000e-01 : f32}
// CHECK-NOT: linalg.generic
// CHECK: return %[[O]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @decomposed_softmax_scaled_masked(%q: tensor<6x8xf32>, %k: tensor<10x8xf32>, %v: tensor<10x4xf32>, %mask: tensor<6x10xf32>) -> tensor<6x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c = arith.constant 0.3 : f32
  %et = tensor.empty() : tensor<8x10xf32>
  %kt = linalg.transpose ins(%k : tensor<10x8xf32>) outs(%et : tensor<8x10xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<6x10xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<6x10xf32>) -> tensor<6x10xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<6x8xf32>, tensor<8x10xf32>) outs(%zs : tensor<6x10xf32>) -> tensor<6x10xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<6x10xf32>) outs(%es : tensor<6x10xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %c : f32
    linalg.yield %0 : f32
  } -> tensor<6x10xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss, %mask : tensor<6x10xf32>, tensor<6x10xf32>) outs(%es : tensor<6x10xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<6x10xf32>
  %er = tensor.empty() : tensor<6xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<6xf32>) -> tensor<6xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%sm : tensor<6x10xf32>) outs(%mi : tensor<6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<6xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%sm, %mx : tensor<6x10xf32>, tensor<6xf32>) outs(%es : tensor<6x10xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.subf %in, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<6x10xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<6xf32>) -> tensor<6xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%ex : tensor<6x10xf32>) outs(%si : tensor<6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<6xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%ex, %sum : tensor<6x10xf32>, tensor<6xf32>) outs(%es : tensor<6x10xf32>) {
  ^bb0(%in: f32, %t: f32, %out: f32):
    %0 = arith.divf %in, %t : f32
    linalg.yield %0 : f32
  } -> tensor<6x10xf32>
  %eo = tensor.empty() : tensor<6x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<6x4xf32>) -> tensor<6x4xf32>
  %o = linalg.matmul ins(%p, %v : tensor<6x10xf32>, tensor<10x4xf32>) outs(%zo : tensor<6x4xf32>) -> tensor<6x4xf32>
  return %o : tensor<6x4xf32>
}

// -----

// A constant additive causal mask (0 on and below the diagonal, -inf above)
// becomes the causal flag; a padding mask [1, Skv] stays a mask.
// CHECK-LABEL: func.func @constant_causal_mask
// CHECK: "attn.sdpa"(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}) {causal = true, scale = 1.250000e-01 : f32}
// CHECK-LABEL: func.func @padding_mask
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {causal = false, scale = 1.000000e+00 : f32} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x4xf32>)
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (0, d1)>
func.func @constant_causal_mask(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 8.0 : f32
  %mask = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ss = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %c : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %sm = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%ss, %mask : tensor<4x4xf32>, tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%sm : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}
func.func @padding_mask(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %pad: tensor<1x4xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %sm = linalg.generic {indexing_maps = [#id2, #bc, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %pad : tensor<4x4xf32>, tensor<1x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %m, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%sm : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// Batched heads: batch_matmul with a 3-D transpose of K; Dv differs from D.
// CHECK-LABEL: func.func @batched_heads
// CHECK: "attn.sdpa"{{.*}}: (tensor<2x5x8xf32>, tensor<2x7x8xf32>, tensor<2x7x3xf32>) -> tensor<2x5x3xf32>
func.func @batched_heads(%q: tensor<2x5x8xf32>, %k: tensor<2x7x8xf32>, %v: tensor<2x7x3xf32>) -> tensor<2x5x3xf32> {
  %zero = arith.constant 0.0 : f32
  %et = tensor.empty() : tensor<2x8x7xf32>
  %kt = linalg.transpose ins(%k : tensor<2x7x8xf32>) outs(%et : tensor<2x8x7xf32>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<2x5x7xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x5x8xf32>, tensor<2x8x7xf32>) outs(%zs : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x5x7xf32>) outs(%es : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  %eo = tensor.empty() : tensor<2x5x3xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x5x7xf32>, tensor<2x7x3xf32>) outs(%zo : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  return %o : tensor<2x5x3xf32>
}

// -----

// Must not raise: K used as is (no transpose); the matmul is Q x (some [8, 4]
// matrix), which is not a dot product of queries with keys.
// CHECK-LABEL: func.func @key_not_transposed_negative
// CHECK-NOT: attn.sdpa
// SOFTMAX: linalg.softmax
func.func @key_not_transposed_negative(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// Must not raise: the softmax normalises over the queries (dimension 0).
// CHECK-LABEL: func.func @softmax_wrong_axis_negative
// CHECK-NOT: attn.sdpa
// SOFTMAX: linalg.softmax dimension(0)
func.func @softmax_wrong_axis_negative(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.softmax dimension(0) ins(%s : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// Must not raise: the matmul after the softmax contracts over the queries
// (P^T W), so the product with V that follows is not attention either.
// CHECK-LABEL: func.func @matmul_between_softmax_and_v_negative
// CHECK-NOT: attn.sdpa
// SOFTMAX: linalg.softmax
// CHECK-COUNT-2: linalg.matmul ins(
func.func @matmul_between_softmax_and_v_negative(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %w: tensor<4x4xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %pt = linalg.transpose ins(%p : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) permutation = [1, 0]
  %pw = linalg.matmul ins(%pt, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%pw, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// Must not raise: the mask is added after scaling, then scaled again; a scale
// applied after the mask would change the mask.
// CHECK-LABEL: func.func @scale_after_mask_negative
// CHECK-NOT: attn.sdpa
#id3 = affine_map<(d0, d1) -> (d0, d1)>
func.func @scale_after_mask_negative(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %mask: tensor<4x4xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.5 : f32
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel"]} ins(%s, %mask : tensor<4x4xf32>, tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel"]} ins(%sm : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %c : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %p = linalg.softmax dimension(1) ins(%ss : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x4xf32>, tensor<4x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// Must not raise (and must not fail): dynamic shapes, attn.sdpa needs static ones.
// CHECK-LABEL: func.func @dynamic_shapes_not_applicable
// CHECK-NOT: attn.sdpa
// SOFTMAX: linalg.softmax
func.func @dynamic_shapes_not_applicable(%q: tensor<?x8xf32>, %k: tensor<?x8xf32>, %v: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %sq = tensor.dim %q, %c0 : tensor<?x8xf32>
  %skv = tensor.dim %k, %c0 : tensor<?x8xf32>
  %et = tensor.empty(%skv) : tensor<8x?xf32>
  %kt = linalg.transpose ins(%k : tensor<?x8xf32>) outs(%et : tensor<8x?xf32>) permutation = [1, 0]
  %es = tensor.empty(%sq, %skv) : tensor<?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<?x?xf32>) -> tensor<?x?xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<?x8xf32>, tensor<8x?xf32>) outs(%zs : tensor<?x?xf32>) -> tensor<?x?xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<?x?xf32>) outs(%es : tensor<?x?xf32>) -> tensor<?x?xf32>
  %eo = tensor.empty(%sq) : tensor<?x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x8xf32>) -> tensor<?x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<?x?xf32>, tensor<?x8xf32>) outs(%zo : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %o : tensor<?x8xf32>
}

// -----

// K read transposed through the matmul's indexing maps (no linalg.transpose),
// and the softmax as `attn-decompose-softmax` leaves it (maxnumf, fused sub+exp).
// CHECK-LABEL: func.func @transposed_b_maps
// CHECK: "attn.sdpa"(%{{.*}}, %{{.*}}, %{{.*}}) {causal = false, scale = 1.000000e+00 : f32} : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>)
func.func @transposed_b_maps(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<4x6xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x6xf32>) -> tensor<4x6xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%q, %k : tensor<4x8xf32>, tensor<6x8xf32>) outs(%zs : tensor<4x6xf32>) -> tensor<4x6xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x6xf32>) outs(%es : tensor<4x6xf32>) -> tensor<4x6xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<4x6xf32>, tensor<6x8xf32>) outs(%zo : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// A causal mask computed in the body from linalg.index (no constant tensor):
// evaluated from constants, it is the causal pattern, so it becomes the flag.
// Sq = 3 queries at the end of Skv = 5 keys (bottom-right diagonal).
// CHECK-LABEL: func.func @index_causal_mask
// CHECK: "attn.sdpa"(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}) {causal = true, scale = 1.000000e+00 : f32} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<5x8xf32>)
#idm = affine_map<(d0, d1) -> (d0, d1)>
func.func @index_causal_mask(%q: tensor<3x8xf32>, %k: tensor<5x8xf32>, %v: tensor<5x8xf32>) -> tensor<3x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c2 = arith.constant 2 : index
  %em = tensor.empty() : tensor<3x5xf32>
  %mask = linalg.generic {indexing_maps = [#idm], iterator_types = ["parallel", "parallel"]} outs(%em : tensor<3x5xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %last = arith.addi %i, %c2 : index
    %ok = arith.cmpi ule, %j, %last : index
    %m = arith.select %ok, %zero, %ninf : f32
    linalg.yield %m : f32
  } -> tensor<3x5xf32>
  %et = tensor.empty() : tensor<8x5xf32>
  %kt = linalg.transpose ins(%k : tensor<5x8xf32>) outs(%et : tensor<8x5xf32>) permutation = [1, 0]
  %zs = linalg.fill ins(%zero : f32) outs(%em : tensor<3x5xf32>) -> tensor<3x5xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<3x8xf32>, tensor<8x5xf32>) outs(%zs : tensor<3x5xf32>) -> tensor<3x5xf32>
  %sm = linalg.generic {indexing_maps = [#idm, #idm, #idm], iterator_types = ["parallel", "parallel"]} ins(%s, %mask : tensor<3x5xf32>, tensor<3x5xf32>) outs(%em : tensor<3x5xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<3x5xf32>
  %p = linalg.softmax dimension(1) ins(%sm : tensor<3x5xf32>) outs(%em : tensor<3x5xf32>) -> tensor<3x5xf32>
  %eo = tensor.empty() : tensor<3x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<3x8xf32>) -> tensor<3x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<3x5xf32>, tensor<5x8xf32>) outs(%zo : tensor<3x8xf32>) -> tensor<3x8xf32>
  return %o : tensor<3x8xf32>
}

// -----

// Spellings a frontend emits, read by meaning after attn-normalize: the scale as a
// truncated f64 split over Q and K^T (after the transpose), a causal mask applied
// as masked_fill `select(j <= i, s, -inf)` computed from linalg.index in the body,
// the row max as cmpf ogt + select, and the softmax normalised as e * (1 / sum).
// CHECK-LABEL: func.func @index_causal_masked_fill_split_scale
// CHECK-SAME: (%[[Q:.*]]: tensor<6x8xf32>, %[[K:.*]]: tensor<6x8xf32>, %[[V:.*]]: tensor<6x4xf32>)
// CHECK: %[[O:.*]] = "attn.sdpa"(%[[Q]], %[[K]], %[[V]]) {causal = true, scale = {{0.49999997|5.000000e-01}} : f32}
// CHECK-NOT: linalg.index
// CHECK: return %[[O]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#row1 = affine_map<(d0, d1) -> (d0, 0)>
func.func @index_causal_masked_fill_split_scale(%q: tensor<6x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x4xf32>) -> tensor<6x4xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c = arith.constant 0.70710678118654757 : f64
  %eq = tensor.empty() : tensor<6x8xf32>
  %qs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%q : tensor<6x8xf32>) outs(%eq : tensor<6x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %c : f64 to f32
    %0 = arith.mulf %in, %t : f32
    linalg.yield %0 : f32
  } -> tensor<6x8xf32>
  %et = tensor.empty() : tensor<8x6xf32>
  %kt = linalg.transpose ins(%k : tensor<6x8xf32>) outs(%et : tensor<8x6xf32>) permutation = [1, 0]
  %kts = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%kt : tensor<8x6xf32>) outs(%et : tensor<8x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %c : f64 to f32
    %0 = arith.mulf %t, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x6xf32>
  %es = tensor.empty() : tensor<6x6xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<6x6xf32>) -> tensor<6x6xf32>
  %s = linalg.matmul ins(%qs, %kts : tensor<6x8xf32>, tensor<8x6xf32>) outs(%zs : tensor<6x6xf32>) -> tensor<6x6xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<6x6xf32>) outs(%es : tensor<6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %keep = arith.cmpi sle, %j, %i : index
    %0 = arith.select %keep, %in, %ninf : f32
    linalg.yield %0 : f32
  } -> tensor<6x6xf32>
  %er = tensor.empty() : tensor<6xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<6xf32>) -> tensor<6xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%sm : tensor<6x6xf32>) outs(%mi : tensor<6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %out : f32
    %0 = arith.select %gt, %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<6xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%sm, %mx : tensor<6x6xf32>, tensor<6xf32>) outs(%es : tensor<6x6xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.subf %in, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<6x6xf32>
  %e61 = tensor.empty() : tensor<6x1xf32>
  %si = linalg.fill ins(%zero : f32) outs(%e61 : tensor<6x1xf32>) -> tensor<6x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row1], iterator_types = ["parallel", "reduction"]} ins(%ex : tensor<6x6xf32>) outs(%si : tensor<6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<6x1xf32>
  %inv = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%sum : tensor<6x1xf32>) outs(%e61 : tensor<6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %one, %in : f32
    linalg.yield %0 : f32
  } -> tensor<6x1xf32>
  %p = linalg.generic {indexing_maps = [#id, #row1, #id], iterator_types = ["parallel", "parallel"]} ins(%ex, %inv : tensor<6x6xf32>, tensor<6x1xf32>) outs(%es : tensor<6x6xf32>) {
  ^bb0(%in: f32, %r: f32, %out: f32):
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<6x6xf32>
  %eo = tensor.empty() : tensor<6x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<6x4xf32>) -> tensor<6x4xf32>
  %o = linalg.matmul ins(%p, %v : tensor<6x6xf32>, tensor<6x4xf32>) outs(%zo : tensor<6x4xf32>) -> tensor<6x4xf32>
  return %o : tensor<6x4xf32>
}

// -----

// A padding mask from a function argument (keys whose flag is > 0 are kept), applied
// with masked_fill, and Q K^T as a generic contraction reading K transposed: the
// padding becomes one additive [1, Skv] mask operand, no [Sq, Skv] tensor.
// CHECK-LABEL: func.func @padding_argument_generic_contraction
// CHECK-SAME: (%[[Q:.*]]: tensor<4x8xf32>, %[[K:.*]]: tensor<6x8xf32>, %[[V:.*]]: tensor<6x4xf32>, %[[PAD:.*]]: tensor<1x6xf32>)
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x6xi1>) outs(%{{.*}} : tensor<1x6xf32>)
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: "attn.sdpa"(%[[Q]], %[[K]], %[[V]], %[[M]]) {causal = false, scale = 1.250000e-01 : f32}
// CHECK-NOT: tensor<4x6xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bc = affine_map<(d0, d1) -> (0, d1)>
#qm = affine_map<(m, n, k) -> (m, k)>
#km = affine_map<(m, n, k) -> (n, k)>
#sm = affine_map<(m, n, k) -> (m, n)>
func.func @padding_argument_generic_contraction(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x4xf32>, %pad: tensor<1x6xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %d = arith.constant 8.0 : f32
  %eb = tensor.empty() : tensor<1x6xi1>
  %keep = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%pad : tensor<1x6xf32>) outs(%eb : tensor<1x6xi1>) {
  ^bb0(%in: f32, %out: i1):
    %0 = arith.cmpf ogt, %in, %zero : f32
    linalg.yield %0 : i1
  } -> tensor<1x6xi1>
  %es = tensor.empty() : tensor<4x6xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x6xf32>) -> tensor<4x6xf32>
  %s = linalg.generic {indexing_maps = [#qm, #km, #sm], iterator_types = ["parallel", "parallel", "reduction"]} ins(%q, %k : tensor<4x8xf32>, tensor<6x8xf32>) outs(%zs : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %b, %a : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4x6xf32>
  %ss = linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]} ins(%s, %keep : tensor<4x6xf32>, tensor<1x6xi1>) outs(%es : tensor<4x6xf32>) {
  ^bb0(%in: f32, %m: i1, %out: f32):
    %0 = arith.divf %in, %d : f32
    %1 = arith.select %m, %0, %ninf : f32
    linalg.yield %1 : f32
  } -> tensor<4x6xf32>
  %sm = linalg.softmax dimension(1) ins(%ss : tensor<4x6xf32>) outs(%es : tensor<4x6xf32>) -> tensor<4x6xf32>
  %eo = tensor.empty() : tensor<4x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = linalg.matmul ins(%sm, %v : tensor<4x6xf32>, tensor<6x4xf32>) outs(%zo : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %o : tensor<4x4xf32>
}

// -----

// Must not fire: a scale applied after a float mask would scale the mask; a mask
// whose index expression is neither causal nor a window (j <= i + 1 on a square
// score) stays linalg. Both keep their matmuls (the skip reasons are checked in
// test/numerics/test_attn_raise_skips.py).
// CHECK-LABEL: func.func @scale_after_float_mask_not_applicable
// CHECK-NOT: attn.sdpa
// CHECK-COUNT-2: linalg.matmul
// CHECK-LABEL: func.func @shifted_diagonal_not_applicable
// CHECK-NOT: attn.sdpa
// CHECK-COUNT-2: linalg.matmul
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @scale_after_float_mask_not_applicable(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x4xf32>, %mask: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.5 : f32
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%s, %mask : tensor<4x4xf32>, tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.addf %in, %m : f32
    %1 = arith.mulf %0, %c : f32
    linalg.yield %1 : f32
  } -> tensor<4x4xf32>
  %sm = linalg.softmax dimension(1) ins(%ss : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = linalg.matmul ins(%sm, %v : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %o : tensor<4x4xf32>
}
func.func @shifted_diagonal_not_applicable(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c1 = arith.constant 1 : index
  %et = tensor.empty() : tensor<8x4xf32>
  %kt = linalg.transpose ins(%k : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %i1 = arith.addi %i, %c1 : index
    %keep = arith.cmpi sle, %j, %i1 : index
    %0 = arith.select %keep, %in, %ninf : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %sm = linalg.softmax dimension(1) ins(%ss : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) -> tensor<4x4xf32>
  %o = linalg.matmul ins(%sm, %v : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zs : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %o : tensor<4x4xf32>
}

// -----

// Rotary embedding written as one generic (by hand, or after elementwise fusion):
// the body computes rotate_half(x) * sin + cos * x, products in either order.
// CHECK-LABEL: func.func @rotary_one_generic
// CHECK: %[[R:.*]] = "attn.rotary"(%arg0, %arg1, %arg2) {rotary_dim = 8 : i64, style = "half"}
// CHECK-NOT: tensor.concat
// CHECK: return %[[R]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#sd = affine_map<(d0, d1, d2) -> (d1, d2)>
func.func @rotary_one_generic(%x: tensor<2x5x8xf32>, %cos: tensor<5x8xf32>, %sin: tensor<5x8xf32>) -> tensor<2x5x8xf32> {
  %lo = tensor.extract_slice %x[0, 0, 0] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 4] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %eh = tensor.empty() : tensor<2x5x4xf32>
  %neg = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%hi : tensor<2x5x4xf32>) outs(%eh : tensor<2x5x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x5x4xf32>
  %rot = tensor.concat dim(2) %neg, %lo : (tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x5x8xf32>
  %e = tensor.empty() : tensor<2x5x8xf32>
  %r = linalg.generic {indexing_maps = [#id3, #sd, #sd, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%rot, %sin, %cos, %x : tensor<2x5x8xf32>, tensor<5x8xf32>, tensor<5x8xf32>, tensor<2x5x8xf32>) outs(%e : tensor<2x5x8xf32>) {
  ^bb0(%r0: f32, %s: f32, %c: f32, %a: f32, %out: f32):
    %rs = arith.mulf %r0, %s : f32
    %ca = arith.mulf %c, %a : f32
    %sum = arith.addf %rs, %ca : f32
    linalg.yield %sum : f32
  } -> tensor<2x5x8xf32>
  return %r : tensor<2x5x8xf32>
}

// -----

// Must not fire: the rotated tensor is not the one multiplied by cos.
// CHECK-LABEL: func.func @rotary_one_generic_other_tensor_negative
// CHECK-NOT: attn.rotary
func.func @rotary_one_generic_other_tensor_negative(%x: tensor<2x5x8xf32>, %y: tensor<2x5x8xf32>, %cos: tensor<5x8xf32>, %sin: tensor<5x8xf32>) -> tensor<2x5x8xf32> {
  %lo = tensor.extract_slice %y[0, 0, 0] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %hi = tensor.extract_slice %y[0, 0, 4] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %eh = tensor.empty() : tensor<2x5x4xf32>
  %neg = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%hi : tensor<2x5x4xf32>) outs(%eh : tensor<2x5x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x5x4xf32>
  %rot = tensor.concat dim(2) %neg, %lo : (tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x5x8xf32>
  %e = tensor.empty() : tensor<2x5x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<2x5x8xf32>, tensor<5x8xf32>, tensor<2x5x8xf32>, tensor<5x8xf32>) outs(%e : tensor<2x5x8xf32>) {
  ^bb0(%a: f32, %c: f32, %r0: f32, %s: f32, %out: f32):
    %ca = arith.mulf %a, %c : f32
    %rs = arith.mulf %r0, %s : f32
    %sum = arith.addf %ca, %rs : f32
    linalg.yield %sum : f32
  } -> tensor<2x5x8xf32>
  return %r : tensor<2x5x8xf32>
}

// -----

// Must not fire: a difference, not a sum (x * cos - rotate_half(x) * sin).
// CHECK-LABEL: func.func @rotary_one_generic_difference_negative
// CHECK-NOT: attn.rotary
func.func @rotary_one_generic_difference_negative(%x: tensor<2x5x8xf32>, %cos: tensor<5x8xf32>, %sin: tensor<5x8xf32>) -> tensor<2x5x8xf32> {
  %lo = tensor.extract_slice %x[0, 0, 0] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 4] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %eh = tensor.empty() : tensor<2x5x4xf32>
  %neg = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%hi : tensor<2x5x4xf32>) outs(%eh : tensor<2x5x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x5x4xf32>
  %rot = tensor.concat dim(2) %neg, %lo : (tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x5x8xf32>
  %e = tensor.empty() : tensor<2x5x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<2x5x8xf32>, tensor<5x8xf32>, tensor<2x5x8xf32>, tensor<5x8xf32>) outs(%e : tensor<2x5x8xf32>) {
  ^bb0(%a: f32, %c: f32, %r0: f32, %s: f32, %out: f32):
    %ca = arith.mulf %a, %c : f32
    %rs = arith.mulf %r0, %s : f32
    %sum = arith.subf %ca, %rs : f32
    linalg.yield %sum : f32
  } -> tensor<2x5x8xf32>
  return %r : tensor<2x5x8xf32>
}

// -----

// Must not fire: a product is used twice in the body (x*cos + x*cos*... is not rotary).
// CHECK-LABEL: func.func @rotary_one_generic_extra_op_negative
// CHECK-NOT: attn.rotary
func.func @rotary_one_generic_extra_op_negative(%x: tensor<2x5x8xf32>, %cos: tensor<5x8xf32>, %sin: tensor<5x8xf32>) -> tensor<2x5x8xf32> {
  %lo = tensor.extract_slice %x[0, 0, 0] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 4] [2, 5, 4] [1, 1, 1] : tensor<2x5x8xf32> to tensor<2x5x4xf32>
  %eh = tensor.empty() : tensor<2x5x4xf32>
  %neg = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%hi : tensor<2x5x4xf32>) outs(%eh : tensor<2x5x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x5x4xf32>
  %rot = tensor.concat dim(2) %neg, %lo : (tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x5x8xf32>
  %e = tensor.empty() : tensor<2x5x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<2x5x8xf32>, tensor<5x8xf32>, tensor<2x5x8xf32>, tensor<5x8xf32>) outs(%e : tensor<2x5x8xf32>) {
  ^bb0(%a: f32, %c: f32, %r0: f32, %s: f32, %out: f32):
    %ca = arith.mulf %a, %c : f32
    %rs = arith.mulf %r0, %s : f32
    %sq = arith.mulf %ca, %ca : f32
    %sum = arith.addf %sq, %rs : f32
    linalg.yield %sum : f32
  } -> tensor<2x5x8xf32>
  return %r : tensor<2x5x8xf32>
}
