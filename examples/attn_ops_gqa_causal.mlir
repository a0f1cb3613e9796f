// A grouped-query causal attention block written with the attn dialect:
// 8 query heads share 2 key/value heads; GPT-J style (interleaved) rotary
// embedding on the first 32 of 64 channels of Q and K, then causal SDPA.
// Run it (fused online-softmax kernel): attn-run examples/attn_ops_gqa_causal.mlir
// Upstream: mlir-opt --irdl-file=dialect/attn.irdl.mlir examples/attn_ops_gqa_causal.mlir
func.func @block(%q: tensor<1x8x32x64xf32>, %k: tensor<1x2x32x64xf32>, %v: tensor<1x2x32x64xf32>,
                 %cos: tensor<32x32xf32>, %sin: tensor<32x32xf32>) -> tensor<1x8x32x64xf32> {
  %qr = "attn.rotary"(%q, %cos, %sin) {style = "interleaved", rotary_dim = 32 : i64}
      : (tensor<1x8x32x64xf32>, tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<1x8x32x64xf32>
  %kr = "attn.rotary"(%k, %cos, %sin) {style = "interleaved", rotary_dim = 32 : i64}
      : (tensor<1x2x32x64xf32>, tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<1x2x32x64xf32>
  %o = "attn.sdpa"(%qr, %kr, %v) {scale = 0.125 : f32, causal = true}
      : (tensor<1x8x32x64xf32>, tensor<1x2x32x64xf32>, tensor<1x2x32x64xf32>) -> tensor<1x8x32x64xf32>
  return %o : tensor<1x8x32x64xf32>
}
