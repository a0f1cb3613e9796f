// RUN: %attn_opt %s --split-input-file --attn-verify --verify-diagnostics

// Well-formed ops pass: GQA (4 query heads over 2 kv heads), a broadcast mask,
// partial rotary with tables broadcast over heads.
func.func @well_formed(%q: tensor<1x4x7x8xf32>, %k: tensor<1x2x9x8xf32>, %v: tensor<1x2x9x5xf32>, %m: tensor<1x1x7x9xf32>, %x: tensor<1x4x7x8xf32>, %c: tensor<7x4xf32>) -> (tensor<1x4x7x5xf32>, tensor<1x4x7x8xf32>) {
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = true} : (tensor<1x4x7x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x5xf32>, tensor<1x1x7x9xf32>) -> tensor<1x4x7x5xf32>
  %r = "attn.rotary"(%x, %c, %c) {style = "interleaved", rotary_dim = 4 : i64} : (tensor<1x4x7x8xf32>, tensor<7x4xf32>, tensor<7x4xf32>) -> tensor<1x4x7x8xf32>
  return %o, %r : tensor<1x4x7x5xf32>, tensor<1x4x7x8xf32>
}

// -----

// A sliding window with and without causal; masks that vary per batch and per
// head: an i1 padding mask [B, 1, 1, Skv], an i1 mask [B, Hq, Sq, Skv], an
// additive relative-position bias [Hq, Sq, Skv] shared by the batch.
func.func @window_and_masks(%q: tensor<2x4x7x8xf32>, %k: tensor<2x2x9x8xf32>, %v: tensor<2x2x9x5xf32>, %pad: tensor<2x1x1x9xi1>, %keep: tensor<2x4x7x9xi1>, %bias: tensor<4x7x9xf32>) -> (tensor<2x4x7x5xf32>, tensor<2x4x7x5xf32>, tensor<2x4x7x5xf32>) {
  %a = "attn.sdpa"(%q, %k, %v, %pad) {scale = 0.5 : f32, causal = true, window = 3 : i64} : (tensor<2x4x7x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x5xf32>, tensor<2x1x1x9xi1>) -> tensor<2x4x7x5xf32>
  %b = "attn.sdpa"(%q, %k, %v, %keep) {scale = 0.5 : f32, causal = false, window = 1 : i64} : (tensor<2x4x7x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x5xf32>, tensor<2x4x7x9xi1>) -> tensor<2x4x7x5xf32>
  %c = "attn.sdpa"(%q, %k, %v, %bias) {scale = 0.5 : f32, causal = false} : (tensor<2x4x7x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x5xf32>, tensor<4x7x9xf32>) -> tensor<2x4x7x5xf32>
  return %a, %b, %c : tensor<2x4x7x5xf32>, tensor<2x4x7x5xf32>, tensor<2x4x7x5xf32>
}

// -----

func.func @window_zero(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{'attn.sdpa' op window must be positive, got 0}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = true, window = 0 : i64} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @window_negative(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{window must be positive, got -2}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false, window = -2 : i64} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @window_i32(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{window must be an i64 integer attribute, got 4 : i32}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false, window = 4 : i32} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @window_not_integer(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{window must be an i64 integer attribute, got "wide"}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false, window = "wide"} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @mask_i8(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>, %m: tensor<7x9xi8>) -> tensor<7x8xf32> {
  // expected-error@+1 {{mask must have a float or i1 element type, got tensor<7x9xi8>}}
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>, tensor<7x9xi8>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @mask_other_float(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>, %m: tensor<7x9xf16>) -> tensor<7x8xf32> {
  // expected-error@+1 {{mask must have the element type of query (f32) or i1, got tensor<7x9xf16>}}
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>, tensor<7x9xf16>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

// A per-head mask needs Hq heads (or 1), not Hkv.
func.func @bool_mask_kv_heads(%q: tensor<2x4x7x8xf32>, %k: tensor<2x2x9x8xf32>, %v: tensor<2x2x9x8xf32>, %m: tensor<2x2x7x9xi1>) -> tensor<2x4x7x8xf32> {
  // expected-error@+1 {{mask 2x2x7x9 does not broadcast to the score shape 2x4x7x9}}
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = false} : (tensor<2x4x7x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x7x9xi1>) -> tensor<2x4x7x8xf32>
  return %o : tensor<2x4x7x8xf32>
}

// -----

func.func @mask_rank_too_high(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>, %m: tensor<1x7x9xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{mask 1x7x9 does not broadcast to the score shape 7x9}}
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>, tensor<1x7x9xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @head_size_mismatch(%q: tensor<7x8xf32>, %k: tensor<9x6xf32>, %v: tensor<9x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{'attn.sdpa' op query and key must have the same head size (last dim): query 7x8, key 9x6}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x6xf32>, tensor<9x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @kv_length_mismatch(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<10x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{key and value must have the same sequence length (dim 0): key 9x8, value 10x8}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<10x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @heads_not_a_multiple(%q: tensor<3x7x8xf32>, %k: tensor<2x9x8xf32>, %v: tensor<2x9x8xf32>) -> tensor<3x7x8xf32> {
  // expected-error@+1 {{query heads (3) must be a multiple of key/value heads (2)}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false} : (tensor<3x7x8xf32>, tensor<2x9x8xf32>, tensor<2x9x8xf32>) -> tensor<3x7x8xf32>
  return %o : tensor<3x7x8xf32>
}

// -----

func.func @wrong_result(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x4xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{result must be 7x4 (query dims with value's head size), got 7x8}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x4xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @mask_not_broadcastable(%q: tensor<7x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>, %m: tensor<7x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{mask 7x8 does not broadcast to the score shape 7x9}}
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.5 : f32, causal = false} : (tensor<7x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>, tensor<7x8xf32>) -> tensor<7x8xf32>
  return %o : tensor<7x8xf32>
}

// -----

func.func @dynamic_shape(%q: tensor<?x8xf32>, %k: tensor<9x8xf32>, %v: tensor<9x8xf32>) -> tensor<?x8xf32> {
  // expected-error@+1 {{query must have a static shape, got tensor<?x8xf32>}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.5 : f32, causal = false} : (tensor<?x8xf32>, tensor<9x8xf32>, tensor<9x8xf32>) -> tensor<?x8xf32>
  return %o : tensor<?x8xf32>
}

// -----

func.func @odd_rotary_dim(%x: tensor<7x8xf32>, %c: tensor<7x3xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{'attn.rotary' op rotary_dim must be even and in (0, 8], got 3}}
  %r = "attn.rotary"(%x, %c, %c) {style = "half", rotary_dim = 3 : i64} : (tensor<7x8xf32>, tensor<7x3xf32>, tensor<7x3xf32>) -> tensor<7x8xf32>
  return %r : tensor<7x8xf32>
}

// -----

func.func @table_width(%x: tensor<7x8xf32>, %c: tensor<7x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{cos/sin last dim must be rotary_dim (4), got 7x8}}
  %r = "attn.rotary"(%x, %c, %c) {style = "half", rotary_dim = 4 : i64} : (tensor<7x8xf32>, tensor<7x8xf32>, tensor<7x8xf32>) -> tensor<7x8xf32>
  return %r : tensor<7x8xf32>
}

// -----

func.func @table_positions(%x: tensor<7x8xf32>, %c: tensor<6x8xf32>) -> tensor<7x8xf32> {
  // expected-error@+1 {{cos/sin 6x8 do not broadcast to the input 7x8}}
  %r = "attn.rotary"(%x, %c, %c) {style = "half", rotary_dim = 8 : i64} : (tensor<7x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<7x8xf32>
  return %r : tensor<7x8xf32>
}
