// RUN: %attn_opt %s --split-input-file --verify-diagnostics
// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-to-llvm


// Each chunk's problem is reported at its line in this file, one line per problem.

// expected-error@+1 {{expected non-function type}}
func.func @unparsable( {

// -----

func.func @verifier_error(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  // expected-error@+1 {{'linalg.matmul' op inferred input/output operand #1 has shape's dimension #0 to be 8, but found 4}}
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// expected-note@+1 {{prior use here}}
func.func @use_type_mismatch(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{use of value '%a' expects different type than prior uses: 'tensor<8xf32>' vs 'tensor<4xf32>'}}
  return %a : tensor<8xf32>
}

// -----

func.func @return_type_mismatch(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 1.0 : f32
  // expected-error@+1 {{type of return operand 0 ('f32') doesn't match function result type ('tensor<4xf32>') in function @return_type_mismatch}}
  return %c : f32
}

// -----

// expected-error@+1 {{undefined symbol alias id 'nope'}}
func.func @unknown_alias(%a: tensor<4xf32, #nope>) {
  return
}

// -----

// A chunk that parses and lowers: no diagnostic.
func.func @fine(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
