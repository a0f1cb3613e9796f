// Inputs on which MLIR's parser asserts (killing the process) after reporting an
// error: attn-opt reports the located error instead, exit 1, no abort.

// RUN: %attn_opt %s --split-input-file --verify-diagnostics
// RUN: %exit_code %attn_opt %s --split-input-file 2>&1 | FileCheck %s
// CHECK-NOT: signal
// CHECK-NOT: crashed
// CHECK: exit 1

func.func @t(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // expected-error@+1 {{expected integer value, got '0.5'}}
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0.5]
  return %t : tensor<8x4xf32>
}

// -----

// Found by the fuzzer: a mangled `[`.
func.func @t2(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // expected-error@+1 {{expected '['}}
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = /1, 0]
  return %t : tensor<8x4xf32>
}

// -----

// Found by the fuzzer: an empty element.
func.func @t3(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // expected-error@+1 {{expected integer value, got an empty element}}
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, ]
  return %t : tensor<8x4xf32>
}

// -----

// Found by the fuzzer: an integer beyond i64.
func.func @t4(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // expected-error@+1 {{integer value too large: 99999999999999999999}}
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 99999999999999999999]
  return %t : tensor<8x4xf32>
}

// -----

// An empty list is well-formed: the op's verifier reports the wrong rank.
func.func @t5(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // expected-error@+1 {{'linalg.transpose' op size of permutation 0 does not match the argument rank 2}}
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = []
  return %t : tensor<8x4xf32>
}

// -----

// Found by the fuzzer: an iterator type that is not a string (the generic's parser
// casts it unchecked).
#id = affine_map<(d0) -> (d0)>
func.func @it(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{expected an iterator type string, got '0.53'}}
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = [0.53]} ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Iterator type attributes in the custom form: the same assertion.
#id1 = affine_map<(d0) -> (d0)>
func.func @it_attr(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{expected an iterator type string, got '#linalg.iterator_type<parallel>'}}
  %r = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = [#linalg.iterator_type<parallel>]} ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// The generic op form takes iterator type attributes (and parses them safely).
#id2 = affine_map<(d0) -> (d0)>
func.func @it_generic_form(%a: tensor<4xf32>) -> tensor<5xf32> {
  %r = "linalg.generic"(%a, %a) <{indexing_maps = [#id2, #id2], iterator_types = [#linalg.iterator_type<parallel>], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // expected-error@+1 {{type of return operand 0 ('tensor<4xf32>') doesn't match function result type ('tensor<5xf32>')}}
  return %r : tensor<4xf32>
}

// -----

// Found by the fuzzer: reassociation indices the verifiers turn into affine maps
// unchecked. A negative index and INT64_MAX abort upstream's mlir-opt.
func.func @collapse_negative(%t: tensor<3x3x3xf32>) -> tensor<3x9xf32> {
  // expected-error@+1 {{reassociation index -1 is out of range (0 to 2147483647)}}
  %c = tensor.collapse_shape %t [[-1], [1, 2]] : tensor<3x3x3xf32> into tensor<3x9xf32>
  return %c : tensor<3x9xf32>
}

// -----

func.func @expand_huge(%y: tensor<1x8xf32>) -> tensor<1x1x2x4xf32> {
  // expected-error@+1 {{reassociation index 9223372036854775807 is out of range}}
  %h = tensor.expand_shape %y [[0, 1], [9223372036854775807, 3]] output_shape [1, 1, 2, 4] : tensor<1x8xf32> into tensor<1x1x2x4xf32>
  return %h : tensor<1x1x2x4xf32>
}

// -----

// The generic form's attribute too.
func.func @collapse_generic(%t: tensor<3x3x3xf32>) -> tensor<3x9xf32> {
  // expected-error@+1 {{reassociation index -2 is out of range}}
  %c = "tensor.collapse_shape"(%t) <{reassociation = [[0 : i64], [1 : i64, -2 : i64]]}> : (tensor<3x3x3xf32>) -> tensor<3x9xf32>
  return %c : tensor<3x9xf32>
}

// -----

// In range, the verifier's own errors stand (no abort): a non-contiguous list.
func.func @collapse_not_contiguous(%t: tensor<3x3x3xf32>) -> tensor<3x9xf32> {
  // expected-error@+1 {{expected reassociation map #1 to be valid and contiguous}}
  %c = tensor.collapse_shape %t [[0], [2, 1]] : tensor<3x3x3xf32> into tensor<3x9xf32>
  return %c : tensor<3x9xf32>
}

// -----

// A file cut in the middle of its resource blob.
func.func @c() -> tensor<2xf32> {
  %c = arith.constant dense_resource<w> : tensor<2xf32>
  return %c : tensor<2xf32>
}
// expected-error@+4 {{expected '"' in string literal}}
{-#
  dialect_resources: {
    builtin: {
      w: "0x0400000000000000

// -----

// Found by the fuzzer (seed 2031, case 570): tensor.concat's verifier reads the
// operand's size at a negative dim before checking it, and asserts.
func.func @concat_negative(%a: tensor<4x4xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'tensor.concat' op concatenation dim -1 is negative}}
  %r = tensor.concat dim(-1) %a, %a : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// The generic form, and -1 as a 64-bit hex literal.
func.func @concat_negative_generic(%a: tensor<4x4xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'tensor.concat' op concatenation dim 0xFFFFFFFFFFFFFFFF is negative}}
  %r = "tensor.concat"(%a, %a) <{dim = 0xFFFFFFFFFFFFFFFF : i64}> : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Must not fire: a dim past the rank gets the verifier's own error.
func.func @concat_past_rank(%a: tensor<4x4xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'tensor.concat' op concatenation dim must be less than the tensor rank}}
  %r = tensor.concat dim(2) %a, %a : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
