"""The matching vocabulary: one place that answers "what does this IR compute?".

Each module answers one question about a value or an op and returns None when
the answer is "no", so a rewrite's match reads as a ladder of early returns:

- `contraction`: is this op a (batched) matrix product, over which loop dims,
  with which operand read transposed (named ops and generics alike, decided by
  the bindings' `linalg.isa_contraction_op` / `infer_contraction_dimensions`);
- `elementwise`: what an all-parallel generic's body computes, as a small
  expression over its operands (so `mulf -1`, `subf 0, x` and `negf` are the same
  negation, and `x * (1/s)` is `x / s`);
- `softmax`: is a value `softmax(x)` over the last dim, in any of its spellings;
- `masks`: is an additive bias or a select a causal / sliding-window mask built
  from index expressions, or a mask read from a function argument;
- `scores`: is a value `scale * Q K^T (+ bias)`, through reshapes and broadcasts.
"""
