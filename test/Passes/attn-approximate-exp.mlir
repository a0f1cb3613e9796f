// RUN: %attn_opt %s --split-input-file --attn-approximate-exp | FileCheck %s

// exp(x) = 2^n (1 + r + r^2 P(r)): a floor, the polynomial (Horner steps as fused
// multiply-adds), and 2^n from its bits.
// CHECK-LABEL: func @exp_vector
// CHECK-NOT: math.exp
// CHECK: math.floor {{.*}} : vector<16xf32>
// CHECK-COUNT-6: math.fma {{.*}} : vector<16xf32>
// CHECK: arith.shli {{.*}} : vector<16xi32>
// CHECK: arith.bitcast {{.*}} : vector<16xi32> to vector<16xf32>
func.func @exp_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.exp %x : vector<16xf32>
  return %y : vector<16xf32>
}

// -----

// CHECK-LABEL: func @exp_scalar
// CHECK-NOT: math.exp
// CHECK: arith.bitcast {{.*}} : i32 to f32
func.func @exp_scalar(%x: f32) -> f32 {
  %y = math.exp %x : f32
  return %y : f32
}

// -----

// exp2(x) = 2^n exp((x - n) ln 2): the same polynomial, 2^n from its bits.
// CHECK-LABEL: func @exp2_vector
// CHECK-NOT: math.exp2
// CHECK: math.floor {{.*}} : vector<16xf32>
// CHECK: arith.shli {{.*}} : vector<16xi32>
// CHECK: arith.bitcast {{.*}} : vector<16xi32> to vector<16xf32>
func.func @exp2_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.exp2 %x : vector<16xf32>
  return %y : vector<16xf32>
}

// -----

// Only f32 is rewritten.
// CHECK-LABEL: func @exp_f64_not_applicable
// CHECK: math.exp {{.*}} : f64
func.func @exp_f64_not_applicable(%x: f64) -> f64 {
  %y = math.exp %x : f64
  return %y : f64
}

// -----

// CHECK-LABEL: func @exp2_f64_not_applicable
// CHECK: math.exp2 {{.*}} : f64
func.func @exp2_f64_not_applicable(%x: f64) -> f64 {
  %y = math.exp2 %x : f64
  return %y : f64
}
