func.func @mul_nonzero_init(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %init = arith.constant -3.0 : f32
  %two = arith.constant 2.0 : f32
  %w = arith.constant dense<[[1.0, 2.0, 0.5, -1.0], [3.0, 4.0, 1.5, 0.25], [-2.0, 1.0, 0.0, 2.0], [0.5, -0.5, 1.0, 1.0]]> : tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %acc = linalg.fill ins(%init : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %q = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%acc : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
         ins(%q : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
