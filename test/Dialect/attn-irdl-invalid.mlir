// What IRDL itself checks, in upstream mlir-opt: attribute kinds and values,
// operand counts. Shapes are left to attn-verify.
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %s --split-input-file --verify-diagnostics

func.func @missing_causal(%q: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{attribute "causal" is expected but not provided}}
  %0 = "attn.sdpa"(%q, %q, %q) {scale = 0.125 : f32} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @integer_scale(%q: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{expected base attribute 'builtin.float' but got 'builtin.integer'}}
  %0 = "attn.sdpa"(%q, %q, %q) {scale = 1 : i32, causal = false} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @unknown_style(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'"neox"' does not satisfy the constraint}}
  %0 = "attn.rotary"(%x, %x, %x) {style = "neox", rotary_dim = 8 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @too_many_operands(%q: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{expects at most 4 operands, but got 5}}
  %0 = "attn.sdpa"(%q, %q, %q, %q, %q) {scale = 0.125 : f32, causal = false} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
