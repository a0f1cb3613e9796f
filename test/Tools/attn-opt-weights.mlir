// Weights in a weights file (module attribute attn.weights, a path relative to this
// file, or a list of them): attn-opt keeps the references as they are (the path made
// absolute), and reports at its location every weight it cannot read, exit 1.

// RUN: %attn_opt %s --split-input-file --verify-diagnostics
// RUN: %exit_code %attn_opt %s --split-input-file 2>&1 | FileCheck %s

// The module that reads (its output comes after the errors: CHECKs at the end).
module attributes {attn.weights = ["../fixtures/weights/tiny.safetensors"]} {
  ml_program.global private @"layer.w"(#ml_program.extern : tensor<3x4xf32>) : tensor<3x4xf32>
  func.func @keep(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
    %w = ml_program.global_load_const @"layer.w" : tensor<3x4xf32>
    %e = tensor.empty() : tensor<3x4xf32>
    %r = linalg.add ins(%x, %w : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
    return %r : tensor<3x4xf32>
  }
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 2]]:1: error: cannot read weights file '{{.*}}no-such-file.safetensors': No such file or directory
// expected-error@+1 {{cannot read weights file}}
module attributes {attn.weights = "no-such-file.safetensors"} {
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 2]]:1: error: weights file '{{.*}}attn-opt-weights.mlir' is not safetensors
// expected-error@+1 {{is not safetensors}}
module attributes {attn.weights = "attn-opt-weights.mlir"} {
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 2]]:1: error: 'attn.weights' must be a string or an array of strings
// expected-error@+1 {{'attn.weights' must be a string or an array of strings}}
module attributes {attn.weights = 3 : i32} {
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 3]]:3: error: weight 'missing' is in none of the weights files ({{.*}}tiny.safetensors)
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  // expected-error@+1 {{weight 'missing' is in none of the weights files}}
  ml_program.global private @missing(#ml_program.extern : tensor<3x4xf32>) : tensor<3x4xf32>
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 3]]:3: error: weight 'layer.w' is float32 [3x4] in its file, but the global's type is tensor<4x3xf32>
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  // expected-error@+1 {{weight 'layer.w' is float32 [3x4] in its file, but the global's type is tensor<4x3xf32>}}
  ml_program.global private @"layer.w"(#ml_program.extern : tensor<4x3xf32>) : tensor<4x3xf32>
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 3]]:3: error: weight 'half' is float16 [2x2] in its file, but the global's type is tensor<2x2xf32>
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  // expected-error@+1 {{weight 'half' is float16 [2x2] in its file}}
  ml_program.global private @half(#ml_program.extern : tensor<2x2xf32>) : tensor<2x2xf32>
}

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 2]]:1: error: weight 'layer.b' is external, but the module names no weights file (module attribute 'attn.weights')
// expected-error@+1 {{weight 'layer.b' is external, but the module names no weights file}}
ml_program.global private @"layer.b"(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>

// -----

// CHECK: attn-opt-weights.mlir:[[# @LINE + 3]]:3: error: weight 'layer.b' is a mutable global: weights files hold constants only
module attributes {attn.weights = "../fixtures/weights/tiny.safetensors"} {
  // expected-error@+1 {{weight 'layer.b' is a mutable global}}
  ml_program.global private mutable @"layer.b"(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>
}

// The first module, printed after the errors of the others:
// CHECK-LABEL: module attributes {attn.weights = ["{{.*}}test/fixtures/weights/tiny.safetensors"]}
// CHECK: ml_program.global private @layer.w(#extern) : tensor<3x4xf32>
// CHECK: ml_program.global_load_const @layer.w : tensor<3x4xf32>
// CHECK: exit 1
