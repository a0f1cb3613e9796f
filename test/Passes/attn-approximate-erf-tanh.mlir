// RUN: %attn_opt %s --split-input-file --attn-approximate-erf-tanh | FileCheck %s

// erf(x) = x P(x^2) / Q(x^2) with x clamped to [-4, 4].
// CHECK-LABEL: func @erf_vector
// CHECK-NOT: math.erf
// CHECK: arith.maximumf {{.*}} : vector<16xf32>
// CHECK: arith.minimumf {{.*}} : vector<16xf32>
// CHECK: arith.divf {{.*}} : vector<16xf32>
func.func @erf_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.erf %x : vector<16xf32>
  return %y : vector<16xf32>
}

// -----

// tanh(x) = sign(x)(1 - e)/(1 + e), e = exp(-2|x|), and a series near 0.
// CHECK-LABEL: func @tanh_scalar
// CHECK-NOT: math.tanh
// CHECK: math.absf
// CHECK: math.exp
// CHECK: math.copysign
// CHECK: arith.select
func.func @tanh_scalar(%x: f32) -> f32 {
  %y = math.tanh %x : f32
  return %y : f32
}

// -----

// Only f32 is rewritten.
// CHECK-LABEL: func @erf_f64_not_applicable
// CHECK: math.erf
// CHECK: math.tanh
func.func @erf_f64_not_applicable(%x: f64) -> (f64, f64) {
  %y = math.erf %x : f64
  %z = math.tanh %x : f64
  return %y, %z : f64, f64
}
