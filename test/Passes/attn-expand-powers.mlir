// RUN: %attn_opt %s --split-input-file --attn-expand-powers | FileCheck %s

// x^2 (torch-mlir's fpowi with an i64 exponent) is one multiplication.
// CHECK-LABEL: func @fpowi_square
// CHECK-NOT: math.fpowi
// CHECK: %[[R:.*]] = arith.mulf %arg0, %arg0 : f32
// CHECK: return %[[R]]
func.func @fpowi_square(%x: f32) -> f32 {
  %c2 = arith.constant 2 : i64
  %y = math.fpowi %x, %c2 : f32, i64
  return %y : f32
}

// -----

// x^-3 = 1 / (x^2 x); a float exponent with an integral value counts.
// CHECK-LABEL: func @powf_minus_three
// CHECK-NOT: math.powf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.divf
func.func @powf_minus_three(%x: f32) -> f32 {
  %c = arith.constant -3.0 : f32
  %y = math.powf %x, %c : f32
  return %y : f32
}

// -----

// A fractional, too large or non-constant exponent stays.
// CHECK-LABEL: func @powers_not_applicable
// CHECK: math.powf
// CHECK: math.powf
// CHECK: math.fpowi
func.func @powers_not_applicable(%x: f32, %n: i32) -> (f32, f32, f32) {
  %half = arith.constant 0.5 : f32
  %big = arith.constant 17.0 : f32
  %a = math.powf %x, %half : f32
  %b = math.powf %x, %big : f32
  %c = math.fpowi %x, %n : f32, i32
  return %a, %b, %c : f32, f32, f32
}
