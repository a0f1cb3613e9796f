// One attention head at a realistic size: seq 512, d_model 512, d_k 64.
// scores = (Q K^T) / sqrt(d_k), softmax over the keys, then the weighted sum of V.
// Run it: attn-run examples/single_head_512.mlir --bench 20
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @attention(%x: tensor<512x512xf32>, %wq: tensor<512x64xf32>, %wk: tensor<512x64xf32>, %wv: tensor<512x64xf32>) -> tensor<512x64xf32> {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  %e = tensor.empty() : tensor<512x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<512x64xf32>) -> tensor<512x64xf32>
  %q = linalg.matmul ins(%x, %wq : tensor<512x512xf32>, tensor<512x64xf32>) outs(%z : tensor<512x64xf32>) -> tensor<512x64xf32>
  %k = linalg.matmul ins(%x, %wk : tensor<512x512xf32>, tensor<512x64xf32>) outs(%z : tensor<512x64xf32>) -> tensor<512x64xf32>
  %v = linalg.matmul ins(%x, %wv : tensor<512x512xf32>, tensor<512x64xf32>) outs(%z : tensor<512x64xf32>) -> tensor<512x64xf32>
  %et = tensor.empty() : tensor<64x512xf32>
  %kt = linalg.transpose ins(%k : tensor<512x64xf32>) outs(%et : tensor<64x512xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<512x512xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<512x512xf32>) -> tensor<512x512xf32>
  %s = linalg.matmul ins(%q, %kt : tensor<512x64xf32>, tensor<64x512xf32>) outs(%zs : tensor<512x512xf32>) -> tensor<512x512xf32>
  %scaled = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<512x512xf32>) outs(%es : tensor<512x512xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %scale : f32
    linalg.yield %m : f32
  } -> tensor<512x512xf32>
  %p = linalg.softmax dimension(1) ins(%scaled : tensor<512x512xf32>) outs(%es : tensor<512x512xf32>) -> tensor<512x512xf32>
  %o = linalg.matmul ins(%p, %v : tensor<512x512xf32>, tensor<512x64xf32>) outs(%z : tensor<512x64xf32>) -> tensor<512x64xf32>
  return %o : tensor<512x64xf32>
}
