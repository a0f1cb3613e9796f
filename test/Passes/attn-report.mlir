// RUN: %attn_opt %s --attn-fold-transposes --attn-fuse-projections --attn-report -o /dev/null 2>&1 | FileCheck %s
// RUN: %attn_opt %s -p 'builtin.module(attn-fold-transposes,attn-report)' -o /dev/null 2>&1 | FileCheck %s --check-prefix=PASS
// RUN: %attn_opt %s --attn-report | FileCheck %s --check-prefix=UNCHANGED

// The flag compares the input with the output of the whole pipeline.
// CHECK-LABEL: function @two_projections {{ *}}before{{ *}}after{{ *}}change
// CHECK-NEXT:    matmuls          {{ *}}3{{ *}}2{{ *}}-1
// CHECK-NEXT:    other linalg ops {{ *}}3{{ *}}3{{ *}}+0
// CHECK-NEXT:    FLOPs            {{ *}}56{{ *}}56{{ *}}+0
// CHECK-NEXT:    constant bytes   {{ *}}32{{ *}}32{{ *}}+0
// CHECK: fired   attn-fold-transposes: {{.*}}attn-report.mlir:[[# @LINE + 22]]:{{[0-9]+}}: transpose [1, 0] of a constant folded into the constant
// CHECK: fired   attn-fuse-projections: {{.*}}: fused 2 projections (widths 2, 2) of one input into one matmul
// CHECK-LABEL: function @plain
// CHECK-NEXT:    matmuls          {{ *}}1{{ *}}1{{ *}}+0

// As a pass in a pipeline it prints the counts at its position.
// PASS-LABEL: function @two_projections
// PASS-NEXT:    matmuls          {{ *}}3
// PASS-NEXT:    other linalg ops {{ *}}2
// PASS: fired   attn-fold-transposes

// The report never changes the IR.
// UNCHANGED: linalg.transpose
// UNCHANGED-COUNT-3: linalg.matmul

// FLOPs (model in report.py): 3 matmuls * 2*2*2*2 + 4 elements * 2 body ops = 56.
// The transpose goes, a fill for the fused matmul comes: 3 other linalg ops.
func.func @two_projections(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %t = linalg.transpose ins(%w1 : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %a = linalg.matmul ins(%x, %t : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = linalg.matmul ins(%a, %b : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    %n = arith.addf %m, %in : f32
    linalg.yield %n : f32
  } -> tensor<2x2xf32>
  return %r, %a : tensor<2x2xf32>, tensor<2x2xf32>
}

func.func @plain(%x: tensor<2x2xf32>, %w: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %a = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %a : tensor<2x2xf32>
}
