// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-lift-weights | FileCheck %s

// Weights held in a weights file (tiny.safetensors, found next to this file's folder)
// become trailing arguments of the public function that loads them, one per name,
// in order of first use; the module records their names for the JIT, and the
// external globals go. Constants in the IR stay.
// CHECK-LABEL: module attributes
// CHECK-SAME: attn.lifted_weights = {linear = ["layer.w", "layer.b"]}
// CHECK-NOT: ml_program.global
// CHECK: func.func @linear(%[[X:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<3x4xf32> {attn.weight = "layer.w"}, %[[B:.*]]: tensor<4xf32> {attn.weight = "layer.b"}) -> tensor<2x4xf32>
// CHECK-NOT: ml_program.global_load_const
// CHECK: arith.constant 0.000000e+00 : f32
// CHECK: linalg.matmul ins(%[[X]], %[[W]] :
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[B]] :
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  ml_program.global private @"layer.w"(#ml_program.extern : tensor<3x4xf32>) : tensor<3x4xf32>
  ml_program.global private @"layer.b"(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>
  func.func @linear(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
    %w = ml_program.global_load_const @"layer.w" : tensor<3x4xf32>
    %c0 = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<2x4xf32>
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
    %y = linalg.matmul ins(%x, %w : tensor<2x3xf32>, tensor<3x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
    %b = ml_program.global_load_const @"layer.b" : tensor<4xf32>
    %w2 = ml_program.global_load_const @"layer.w" : tensor<3x4xf32>
    %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%y, %b : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      linalg.yield %s : f32
    } -> tensor<2x4xf32>
    return %r : tensor<2x4xf32>
  }
}

// -----

// Must not fire: no weights file, only constants in the IR (the module gets no record).
// CHECK-LABEL: module {
// CHECK: func.func @constants_only(%{{.*}}: tensor<4xf32>) -> tensor<4xf32>
// CHECK: arith.constant dense<
func.func @constants_only(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.add ins(%x, %c : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A weight loaded in a private function cannot be bound: only public functions take weights.
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  ml_program.global private @"layer.b"(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>
  func.func private @helper() -> tensor<4xf32> {
    // expected-error@+1 {{weight 'layer.b' is loaded in private function @helper: only public functions bind weights files}}
    %b = ml_program.global_load_const @"layer.b" : tensor<4xf32>
    return %b : tensor<4xf32>
  }
  func.func @caller() -> tensor<4xf32> {
    %b = func.call @helper() : () -> tensor<4xf32>
    return %b : tensor<4xf32>
  }
}

// -----

// A weight whose load a rewrite folded away leaves its global unused: it goes too.
// CHECK-LABEL: module attributes
// CHECK-SAME: attn.lifted_weights = {uses_b = ["layer.b"]}
// CHECK-NOT: ml_program.global
// CHECK: func.func @uses_b(%{{.*}}: tensor<4xf32> {attn.weight = "layer.b"}) -> tensor<4xf32>
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  ml_program.global private @"layer.w"(#ml_program.extern : tensor<3x4xf32>) : tensor<3x4xf32>
  ml_program.global private @"layer.b"(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>
  func.func @uses_b() -> tensor<4xf32> {
    %b = ml_program.global_load_const @"layer.b" : tensor<4xf32>
    return %b : tensor<4xf32>
  }
}
