# RUN: %PYTHON %s | FileCheck %s
"""attn_mlir.rewrite_report: counts before/after a pipeline, with fired/skipped rewrites."""

import attn_mlir as am
from attn_mlir.report import count_module
from attn_mlir.rewrite_log import current_log

FIXTURES = __file__.rsplit("/", 2)[0] + "/fixtures"


def run(f):
    print("TEST:", f.__name__)
    f()
    return f


# CHECK-LABEL: TEST: report_on_gqa
# CHECK: function @forward {{ *}}before{{ *}}after{{ *}}change
# CHECK-NEXT: matmuls {{ *}}6{{ *}}4{{ *}}-2
# CHECK-NEXT: other linalg ops
# CHECK-NEXT: FLOPs {{ *}}[[B:[0-9]+]] {{ *}}[[A:[0-9]+]] {{ *}}-1024
# CHECK-NEXT: constant bytes {{ *}}51200{{ *}}51200{{ *}}+0
# CHECK: fired   attn-fold-score-scale: {{.*}}gqa.mlir:{{.*}}: scale 0.25 folded into the projection weight (saves 1024 FLOPs)
# CHECK: fired   attn-fuse-projections: {{.*}}: fused 3 projections (widths 64, 32, 32) of one input into one matmul
@run
def report_on_gqa():
    with am.make_context():
        module = am.load(f"{FIXTURES}/gqa.mlir")
        before = count_module(module)
        current_log.clear()
        am.run_pipeline(module, "builtin.module(attn-fold-transposes,attn-fold-score-scale,"
                                "attn-fuse-projections)")
        print(am.rewrite_report(before, module))


# Skips say why: the query weight is a runtime argument.
# CHECK-LABEL: TEST: report_skip_reason
# CHECK: skipped attn-fold-score-scale: {{.*}}: no matmul with a constant weight on the query side of the scaled value
@run
def report_skip_reason():
    text = """
    func.func @f(%x: tensor<2x2xf32>, %wq: tensor<2x2xf32>, %kt: tensor<2x2xf32>) -> tensor<2x2xf32> {
      %c0 = arith.constant 0.0 : f32
      %half = arith.constant 0.5 : f32
      %e = tensor.empty() : tensor<2x2xf32>
      %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
      %q = linalg.matmul ins(%x, %wq : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
      %s = linalg.matmul ins(%q, %kt : tensor<2x2xf32>, tensor<2x2xf32>) outs(%z : tensor<2x2xf32>) -> tensor<2x2xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                           iterator_types = ["parallel", "parallel"]}
             ins(%s : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
      ^bb0(%in: f32, %out: f32):
        %m = arith.mulf %in, %half : f32
        linalg.yield %m : f32
      } -> tensor<2x2xf32>
      return %r : tensor<2x2xf32>
    }
    """
    with am.make_context():
        module = am.parse(text)
        before = count_module(module)
        current_log.clear()
        am.run_pipeline(module, "builtin.module(attn-fold-score-scale)")
        print(am.rewrite_report(before, module))


# A constant shared with another user stays: the folded copy grows the constants
# (allowed here by max-weight-growth=2), and the report says by how much.
# CHECK-LABEL: TEST: report_constant_growth
# CHECK: constant bytes {{ *}}16{{ *}}32{{ *}}+16
# CHECK: fired   attn-fold-transposes: {{.*}}(the original stays for its other users) (constant bytes +16)
@run
def report_constant_growth():
    text = """
    func.func @g() -> (tensor<2x2xf32>, tensor<2x2xf32>) {
      %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
      %e = tensor.empty() : tensor<2x2xf32>
      %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
      return %t, %w : tensor<2x2xf32>, tensor<2x2xf32>
    }
    """
    with am.make_context():
        module = am.parse(text)
        before = count_module(module)
        current_log.clear()
        am.run_pipeline(module, "builtin.module(attn-fold-transposes{max-weight-growth=2})")
        print(am.rewrite_report(before, module))
