"""Compiled functions never write into their inputs, even when the IR's `outs` is an argument."""

import numpy as np

import attn_mlir as am

IN_PLACE = """
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @add_one(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %one = arith.constant 1.0 : f32
  %r = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]}
      outs(%a : tensor<4x8xf32>) {
  ^bb0(%x: f32):
    %y = arith.addf %x, %one : f32
    linalg.yield %y : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
"""


def test_input_is_left_unchanged():
    fn = am.compile(IN_PLACE)
    a = np.arange(32, dtype=np.float32).reshape(4, 8)
    before = a.copy()
    out = fn(a)
    np.testing.assert_array_equal(out, before + 1)
    np.testing.assert_array_equal(a, before)


def test_arguments_are_marked_readonly():
    with am.make_context():
        module = am.parse(IN_PLACE)
        am.run_pipeline(module, "builtin.module(attn-readonly-arguments)")
        assert "bufferization.writable = false" in str(module)
