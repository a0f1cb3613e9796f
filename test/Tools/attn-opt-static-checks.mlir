// What upstream lets through and then mis-runs or aborts on: a located error at parse
// time, exit 1. Affine constants of 2**32 and more (source.py's precheck): the linalg
// verifier overflows on them (a wrapped bound passes, an overflowing one asserts).
// A static expand_shape output_shape that contradicts its type (static_checks.py):
// it fails only after bufferization. A tensor.cast to a static size the value is known
// not to have (static_checks.py): the lowerings disagree on it. In-bounds spellings of
// the same ops parse as before.

// RUN: %attn_opt %s --split-input-file --verify-diagnostics
// RUN: %exit_code %attn_opt %s --split-input-file 2>&1 | FileCheck %s

// A constant index near 2**63: upstream's 64-bit bound wraps and lets it through.
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:65: error: affine constant 9223372036854775807 is too large (at most 4294967295: MLIR evaluates indexing maps in 64-bit arithmetic)
func.func @huge_constant(%x: tensor<4x1xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error@+1 {{affine constant 9223372036854775807 is too large}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0, 9223372036854775807)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4x1xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A sum that overflows: upstream's verifier asserts (mlir-opt aborts on it).
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:66: error: affine constant 9223372036854775806 is too large
func.func @huge_offset(%x: tensor<8xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error@+1 {{affine constant 9223372036854775806 is too large}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0 + 9223372036854775806)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A static output_shape that contradicts the result type.
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:8: error: 'tensor.expand_shape' output_shape gives 2 at position 2, but the result type has 3
func.func @expand_mismatch(%x: tensor<1x6xf32>) -> tensor<1x2x3xf32> {
  // expected-error@+1 {{'tensor.expand_shape' output_shape gives 2 at position 2, but the result type has 3}}
  %y = tensor.expand_shape %x [[0], [1, 2]] output_shape [1, 2, 2] : tensor<1x6xf32> into tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

// A cast to a size the value cannot have: the result's rows are %n = dim(x, 0) = 3
// (x is a cast of a 3x2 tensor), through tensor.empty and the linalg op's init.
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:8: error: 'tensor.cast' to tensor<0x3xf32> of a value of shape 3x3: dim 0 is 3, not 0
func.func @cast_contradiction(%xs: tensor<3x2xf32>) -> tensor<0x3xf32> {
  %x = tensor.cast %xs : tensor<3x2xf32> to tensor<?x2xf32>
  %i0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %n = tensor.dim %x, %i0 : tensor<?x2xf32>
  %e = tensor.empty(%n, %c3) : tensor<?x?xf32>
  %c0 = arith.constant 0.0 : f32
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  // expected-error@+1 {{'tensor.cast' to tensor<0x3xf32> of a value of shape 3x3: dim 0 is 3, not 0}}
  %r = tensor.cast %z : tensor<?x?xf32> to tensor<0x3xf32>
  return %r : tensor<0x3xf32>
}

// -----

// A cast chain that contradicts itself: static 4, dynamic, static 5.
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:8: error: 'tensor.cast' to tensor<5xf32> of a value of shape 4: dim 0 is 4, not 5
func.func @cast_chain(%x: tensor<4xf32>) -> tensor<5xf32> {
  %d = tensor.cast %x : tensor<4xf32> to tensor<?xf32>
  // expected-error@+1 {{'tensor.cast' to tensor<5xf32> of a value of shape 4: dim 0 is 4, not 5}}
  %y = tensor.cast %d : tensor<?xf32> to tensor<5xf32>
  return %y : tensor<5xf32>
}

// -----

// Found by the fuzzer (seed 2029, case 7405): a reduction into 2x0 over a loop the
// input sizes 1. The structured-op verifier skips zero-size dims; the op then writes
// out of bounds and the lowerings disagree.
// CHECK: attn-opt-static-checks.mlir:{{[0-9]+}}:8: error: 'linalg.generic' operand #1 has size 0 in dim 1, where operand #0 makes loop d1 of size 1
func.func @zero_size_output(%x: tensor<2x1x1xf32>) -> tensor<2x0xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<2x0xf32>
  %z = linalg.fill ins(%ninf : f32) outs(%e : tensor<2x0xf32>) -> tensor<2x0xf32>
  // expected-error@+1 {{'linalg.generic' operand #1 has size 0 in dim 1, where operand #0 makes loop d1 of size 1}}
  %m = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x1x1xf32>) outs(%z : tensor<2x0xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x0xf32>
  return %m : tensor<2x0xf32>
}

// -----

// Must not fire: a keep-dim reduction (constant 0 on a size-1 dim), a shifted read
// (d0 + 1), a constant just under 2**32 in an affine.apply, a loop with no iteration
// (every operand agrees it is empty),
// a dynamic output_shape, casts to sizes that agree with what is known (or nothing is
// known: a dynamic argument, a dim of an unknown size).
// CHECK-LABEL: func.func @in_bounds
// CHECK-NOT: error
// CHECK: exit 1
func.func @in_bounds(%x: tensor<4x8xf32>, %s: tensor<9xf32>, %z: tensor<0x1xf32>, %d: tensor<?xf32>, %n: index) -> (tensor<4x1xf32>, tensor<8xf32>, tensor<0xf32>, tensor<?x2xf32>, tensor<4x8xf32>, tensor<7xf32>, tensor<3x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<4x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%acc : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %e8 = tensor.empty() : tensor<8xf32>
  %shifted = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0 + 1)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%s : tensor<9xf32>) outs(%e8 : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8xf32>
  %e0 = tensor.empty() : tensor<0xf32>
  %none = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0, 0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%z : tensor<0x1xf32>) outs(%e0 : tensor<0xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<0xf32>
  %big = affine.apply affine_map<(d0) -> (d0 + 4294967295)>(%n)
  %half = arith.divui %big, %n : index
  %dyn = tensor.expand_shape %d [[0, 1]] output_shape [%half, 2] : tensor<?xf32> into tensor<?x2xf32>
  %xd = tensor.cast %x : tensor<4x8xf32> to tensor<?x?xf32>
  %xs = tensor.cast %xd : tensor<?x?xf32> to tensor<4x8xf32>
  %d7 = tensor.cast %d : tensor<?xf32> to tensor<7xf32>
  %i0 = arith.constant 0 : index
  %m = tensor.dim %d, %i0 : tensor<?xf32>
  %em = tensor.empty(%m) : tensor<?x2xf32>
  %m3 = tensor.cast %em : tensor<?x2xf32> to tensor<3x2xf32>
  return %sum, %shifted, %none, %dyn, %xs, %d7, %m3 : tensor<4x1xf32>, tensor<8xf32>, tensor<0xf32>, tensor<?x2xf32>, tensor<4x8xf32>, tensor<7xf32>, tensor<3x2xf32>
}

// -----

// Found by the fuzzer (seed 2031, case 2192): a stride of -2^31 verifies, and the
// compiled code read far outside the tensor (SIGSEGV).
func.func @slice_stride_out_of_bounds(%t: tensor<2x2x3x2xf32>) -> tensor<2x2x2xf32> {
  // expected-error@+1 {{'tensor.extract_slice' reaches index -2147483648 of dim 0 (offset 0, size 2, stride -2147483648), outside its size 2}}
  %k = tensor.extract_slice %t[0, 0, 1, 0] [2, 2, 1, 2] [-2147483648, 1, 1, 1] : tensor<2x2x3x2xf32> to tensor<2x2x2xf32>
  return %k : tensor<2x2x2xf32>
}

// -----

// Upstream checks positive strides itself; a negative one that leaves the dest is ours.
func.func @insert_slice_out_of_bounds(%v: tensor<2x2xf32>, %t: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error@+1 {{'tensor.insert_slice' reaches index -1 of dim 1 (offset 0, size 2, stride -1), outside its size 4}}
  %r = tensor.insert_slice %v into %t[0, 0] [2, 2] [1, -1] : tensor<2x2xf32> into tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// Must not fire: a negative stride that stays inside, a dynamic offset.
func.func @slices_in_bounds(%t: tensor<4x4xf32>, %i: index) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %a = tensor.extract_slice %t[3, 0] [2, 4] [-3, 1] : tensor<4x4xf32> to tensor<2x4xf32>
  %c = tensor.extract_slice %t[%i, 0] [2, 4] [1, 1] : tensor<4x4xf32> to tensor<2x4xf32>
  return %a, %c : tensor<2x4xf32>, tensor<2x4xf32>
}
