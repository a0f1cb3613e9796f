// The attn dialect, defined in IRDL so that the same file loads into the
// attn-mlir Python context and into upstream `mlir-opt --irdl-file=`.
//
// IRDL checks operand kinds and attribute kinds only; shapes are checked by
// the attn-verify pass (Python). Ops have no custom assembly and IRDL ops take
// no properties: write them in generic form with an attribute dictionary, e.g.
//   %o = "attn.sdpa"(%q, %k, %v) {scale = 0.125 : f32, causal = false}
//        : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
// Reference pages: dialect/docs/sdpa.md and dialect/docs/rotary.md.
irdl.dialect @attn {
  // Scaled dot-product attention:
  //   O = softmax(scale * Q K^T [+ bias | where(keep, ., -inf)] [causal] [window]) V
  // over the key axis; grouped-query attention when Hq is a multiple of Hkv.
  // mask: a float additive bias or an i1 keep-mask (true = attend), broadcast
  // to [B.., Hq, Sq, Skv]. With i' = i + Skv - Sq, causal keeps keys j <= i'
  // and the optional `window = W : i64` keeps keys j > i' - W. IRDL cannot
  // declare an optional attribute (undeclared ones pass unchecked), so `window`
  // is not listed below: attn-verify checks it is an i64 > 0.
  irdl.operation @sdpa {
    %query = irdl.base "!builtin.tensor"
    %key = irdl.base "!builtin.tensor"
    %value = irdl.base "!builtin.tensor"
    %mask = irdl.base "!builtin.tensor"
    %result = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.float"
    %true = irdl.is true
    %false = irdl.is false
    %causal = irdl.any_of(%true, %false)
    irdl.operands(query: %query, key: %key, value: %value, mask: optional %mask)
    irdl.attributes {"scale" = %scale, "causal" = %causal}
    irdl.results(result: %result)
  }
  // Rotary position embedding with explicit cos/sin tables:
  //   out[..., :R] = x[..., :R] * cos + rot(x[..., :R]) * sin,  out[..., R:] = x[..., R:]
  // rot = rotate_half (style "half", Llama/NeoX) or pairwise (style "interleaved", GPT-J).
  irdl.operation @rotary {
    %input = irdl.base "!builtin.tensor"
    %cos = irdl.base "!builtin.tensor"
    %sin = irdl.base "!builtin.tensor"
    %result = irdl.base "!builtin.tensor"
    %half = irdl.is "half"
    %interleaved = irdl.is "interleaved"
    %style = irdl.any_of(%half, %interleaved)
    %rotary_dim = irdl.base "#builtin.integer"
    irdl.operands(input: %input, cos: %cos, sin: %sin)
    irdl.attributes {"style" = %style, "rotary_dim" = %rotary_dim}
    irdl.results(result: %result)
  }
}
