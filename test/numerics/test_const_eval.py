"""const_eval.evaluate: index-built tensors evaluated with the IR's integer semantics."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.const_eval import evaluate

MASK = """func.func @f() -> tensor<4x4xi1> {
  %e = tensor.empty() : tensor<4x4xi1>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x4xi1>) {
  ^bb0(%o: i1):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %d = arith.subi %ii, %jj : i64
    %c1 = arith.constant 1 : i64
    %b = arith.cmpi PRED, %d, %c1 : i64
    linalg.yield %b : i1
  } -> tensor<4x4xi1>
  return %r : tensor<4x4xi1>
}
"""

def _evaluated(text):
    """evaluate() of the value the function returns."""
    with am.make_context():
        module = am.parse(text)
        ret = module.body.operations[0].regions[0].blocks[0].operations[-1]
        return evaluate(ret.operands[0])


i, j = np.indices((4, 4))
d = i - j


@pytest.mark.parametrize("pred,want", [
    ("slt", d < 1), ("sle", d <= 1), ("sgt", d > 1), ("sge", d >= 1),
    ("eq", d == 1), ("ne", d != 1),
    # unsigned: a negative i - j is a large value (only 0 <= i - j < 1 holds for ult)
    ("ult", (d >= 0) & (d < 1)), ("ule", (d >= 0) & (d <= 1)),
    ("ugt", (d < 0) | (d > 1)), ("uge", (d < 0) | (d >= 1)),
])
def test_integer_compares(pred, want):
    got = _evaluated(MASK.replace("PRED", pred))
    assert got is not None
    np.testing.assert_array_equal(got.astype(bool), want)


def test_argument_dependence_is_unknown():
    text = (MASK.replace("@f()", "@f(%k: i64)").replace("PRED", "slt")
            .replace("%c1 = arith.constant 1 : i64", "%c1 = arith.addi %k, %k : i64"))
    assert _evaluated(text) is None


FLOAT_COMPARE = """func.func @f() -> tensor<3xi1> {
  %x = arith.constant dense<[1.0, 0x7FC00000, 2.0]> : tensor<3xf32>
  %e = tensor.empty() : tensor<3xi1>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]} ins(%x : tensor<3xf32>)
                       outs(%e : tensor<3xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.constant 1.0 : f32
    %b = arith.cmpf PRED, %a, %c : f32
    linalg.yield %b : i1
  } -> tensor<3xi1>
  return %r : tensor<3xi1>
}
"""


@pytest.mark.parametrize("pred,want", [
    ("oeq", [1, 0, 0]), ("one", [0, 0, 1]), ("ogt", [0, 0, 1]), ("olt", [0, 0, 0]),
    ("ueq", [1, 1, 0]), ("une", [0, 1, 1]), ("ugt", [0, 1, 1]), ("ult", [0, 1, 0]),
])
def test_float_compares_with_nan(pred, want):
    got = _evaluated(FLOAT_COMPARE.replace("PRED", pred))
    assert got is not None
    np.testing.assert_array_equal(got.astype(int), want)
