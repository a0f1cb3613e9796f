// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-check-supported
// RUN: %attn_opt %s --split-input-file --verify-diagnostics --attn-to-llvm

// What would abort the process in the lowering is a located error instead:
// integer and i1 attention (a cast<FloatType> assertion), and zero-size dims of
// attn ops under the cpu schedule. Zero-size linalg ops (a matmul with K = 0, which
// asserts in tiling) are left to loops by the schedule and compute the right result.

func.func @i32_attention(%q: tensor<4x8xi32>, %k: tensor<8x4xi32>) -> tensor<4x4xi32> {
  %z = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x4xi32>
  %f = linalg.fill ins(%z : i32) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  %s = linalg.matmul ins(%q, %k : tensor<4x8xi32>, tensor<8x4xi32>) outs(%f : tensor<4x4xi32>) -> tensor<4x4xi32>
  // expected-error@+1 {{unsupported element type i32 in 'linalg.softmax': softmax and attention need floating-point elements (f16, bf16, f32 or f64)}}
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xi32>) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %p : tensor<4x4xi32>
}

// -----

func.func @i1_softmax(%s: tensor<4x4xi1>) -> tensor<4x4xi1> {
  %e = tensor.empty() : tensor<4x4xi1>
  // expected-error@+1 {{unsupported element type i1 in 'linalg.softmax'}}
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xi1>) outs(%e : tensor<4x4xi1>) -> tensor<4x4xi1>
  return %p : tensor<4x4xi1>
}

// -----

func.func @matmul_k0(%a: tensor<4x0xf32>, %b: tensor<0x8xf32>) -> tensor<4x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  // A zero-size linalg op is no error: the cpu schedule leaves it to (zero-trip) loops.
  %r = linalg.matmul ins(%a, %b : tensor<4x0xf32>, tensor<0x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Found by the fuzzer: an attn op with an empty query dimension.
func.func @sdpa_empty_queries(%q: tensor<4x0x16xf32>, %k: tensor<1x50x16xf32>, %v: tensor<1x50x16xf32>) -> tensor<4x0x16xf32> {
  // expected-error@+1 {{'attn.sdpa' has a zero-size dimension (tensor<4x0x16xf32>), which the cpu schedule cannot tile}}
  %o = "attn.sdpa"(%q, %k, %v) {scale = 0.25 : f32, causal = false} : (tensor<4x0x16xf32>, tensor<1x50x16xf32>, tensor<1x50x16xf32>) -> tensor<4x0x16xf32>
  return %o : tensor<4x0x16xf32>
}

// -----

// Integer and i1 tensors that are not attention (a mask, positions) are fine.
func.func @mask_and_positions(%x: tensor<4xf32>, %m: tensor<4xi8>, %pos: tensor<4xi64>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x, %m, %pos : tensor<4xf32>, tensor<4xi8>, tensor<4xi64>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: i8, %p: i64, %o: f32):
    %c0 = arith.constant 0 : i8
    %keep = arith.cmpi ne, %b, %c0 : i8
    %pf = arith.sitofp %p : i64 to f32
    %v = arith.addf %a, %pf : f32
    %s = arith.select %keep, %v, %zero : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// f16, bf16 and f64 attention compile.
func.func @f16_softmax(%s: tensor<4x4xf16>) -> tensor<4x4xf16> {
  %e = tensor.empty() : tensor<4x4xf16>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xf16>) outs(%e : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %p : tensor<4x4xf16>
}
func.func @bf16_softmax(%s: tensor<4x4xbf16>) -> tensor<4x4xbf16> {
  %e = tensor.empty() : tensor<4x4xbf16>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xbf16>) outs(%e : tensor<4x4xbf16>) -> tensor<4x4xbf16>
  return %p : tensor<4x4xbf16>
}
func.func @f64_softmax(%s: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %e = tensor.empty() : tensor<4x4xf64>
  %p = linalg.softmax dimension(1) ins(%s : tensor<4x4xf64>) outs(%e : tensor<4x4xf64>) -> tensor<4x4xf64>
  return %p : tensor<4x4xf64>
}

// -----

// An i1 keep-mask on attn.sdpa is supported (q, k, v are float): no error.
func.func @sdpa_i1_mask(%q: tensor<2x4x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %m = arith.constant dense<[[[true, true, true, true, true, true, false, false]]]> : tensor<1x1x8xi1>
  %o = "attn.sdpa"(%q, %k, %v, %m) {scale = 0.25 : f32, causal = false} : (tensor<2x4x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1x1x8xi1>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}
