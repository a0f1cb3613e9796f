// The attn dialect, defined in IRDL so that the same file loads into the
// attn-mlir Python context and into upstream `mlir-opt --irdl-file=`.
// IRDL checks operand kinds only; shapes are checked by attn-verify (Python).
// Ops have no custom assembly: write and read them in generic form,
// e.g. `%o = "attn.sdpa"(%q, %k, %v) <{scale = 0.125 : f32}> : (...) -> ...`.
irdl.dialect @attn {
  // Scaled dot-product attention: softmax(scale * Q K^T [+ mask]) V.
  irdl.operation @sdpa {
    %tensor = irdl.base "!builtin.tensor"
    irdl.operands(query: %tensor, key: %tensor, value: %tensor, mask: optional %tensor)
    irdl.results(result: %tensor)
  }
  // Rotary position embedding with explicit cos/sin tables.
  irdl.operation @rotary {
    %tensor = irdl.base "!builtin.tensor"
    irdl.operands(input: %tensor, cos: %tensor, sin: %tensor)
    irdl.results(result: %tensor)
  }
}
