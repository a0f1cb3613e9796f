"""The call path of a compiled function: `out=` arrays, repeated calls with the
same array objects (bound once, never stale), bad arguments reported."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.diagnostics import AttnError

TWO = """
func.func @two(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p = linalg.mul ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s, %p : tensor<4x8xf32>, tensor<4x8xf32>
}"""

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def fn():
    return am.compile(TWO)


def inputs():
    return (RNG.standard_normal((4, 8)).astype(np.float32),
            RNG.standard_normal((4, 8)).astype(np.float32))


def test_out_arrays_are_written_and_returned(fn):
    a, b = inputs()
    s, p = np.empty((4, 8), np.float32), np.empty((4, 8), np.float32)
    got = fn(a, b, out=(s, p))
    assert got[0] is s and got[1] is p
    np.testing.assert_allclose(s, a + b, rtol=1e-6)
    np.testing.assert_allclose(p, a * b, rtol=1e-6)
    a2, b2 = inputs()
    fn(a2, b2, out=(s, p))  # the same out arrays again: rebound inputs, same outputs
    np.testing.assert_allclose(s, a2 + b2, rtol=1e-6)


def test_same_arrays_changed_in_place_give_new_results(fn):
    a, b = inputs()
    first = fn(a, b)
    want_first = a + b
    a += 1.0
    second = fn(a, b)
    np.testing.assert_allclose(second[0], a + b, rtol=1e-6)
    assert second[0] is not first[0]  # without out=, every call returns new arrays
    np.testing.assert_array_equal(first[0], want_first)


def test_converted_inputs_are_converted_again(fn):
    """A non-contiguous (or float64) input is copied; a later change to the
    caller's array must reach the next call, not a stale copy."""
    a, b = inputs()
    wide = np.zeros((4, 16), np.float32)
    view = wide[:, ::2]
    view[:] = a
    np.testing.assert_allclose(fn(view, b)[0], a + b, rtol=1e-6)
    view += 2.0
    np.testing.assert_allclose(fn(view, b)[0], a + 2.0 + b, rtol=1e-6)
    b64 = b.astype(np.float64)
    with pytest.raises(AttnError, match="expected dtype float32"):
        fn(a, b64)


def test_bad_out_arrays_are_errors(fn):
    a, b = inputs()
    with pytest.raises(AttnError, match="has 2 results"):
        fn(a, b, out=np.empty((4, 8), np.float32))
    with pytest.raises(AttnError, match="expected shape 4x8"):
        fn(a, b, out=(np.empty((8, 4), np.float32), np.empty((4, 8), np.float32)))
    with pytest.raises(AttnError, match="C-contiguous"):
        fn(a, b, out=(np.empty((8, 8), np.float32)[::2], np.empty((4, 8), np.float32)))
    # out= arrays overlapping an argument or each other: a result may be computed
    # in place while the arguments are still read.
    with pytest.raises(AttnError, match="out= array 0 of @two overlaps argument 1"):
        fn(a, b, out=(b, np.empty((4, 8), np.float32)))
    both = np.empty((2, 4, 8), np.float32)
    with pytest.raises(AttnError, match="out= arrays 0 and 1 of @two overlap"):
        fn(a, b, out=(both[0], both[0]))
    s, p = both[0], both[1]  # disjoint views of one array are fine
    fn(a, b, out=(s, p))
    np.testing.assert_allclose(p, a * b, rtol=1e-6)
    # A failed call leaves nothing half-bound: the next one is right.
    np.testing.assert_allclose(fn(a, b)[1], a * b, rtol=1e-6)


def test_failed_binding_is_not_reused(fn):
    a, b = inputs()
    fn(a, b)
    with pytest.raises(AttnError, match="argument 1"):
        fn(a, np.empty((3, 8), np.float32))
    np.testing.assert_allclose(fn(a, b)[0], a + b, rtol=1e-6)


ONE = """
func.func @one(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}"""


def test_repeated_calls_switching_between_out_and_fresh_results():
    """The short paths of a repeated call (one fresh result; the same arguments and
    out= object as last time) never reuse a binding that another call changed."""
    one = am.compile(ONE)
    a, b = inputs()
    o = np.empty((4, 8), np.float32)
    assert one(a, b, out=o) is o
    assert one(a, b, out=o) is o  # the same call again: nothing rebound
    fresh = one(a, b)  # rebinds the result slot to a new array
    assert fresh is not o
    o[:] = 0
    assert one(a, b, out=o) is o  # so the out= array is bound again, not skipped
    np.testing.assert_allclose(o, a + b, rtol=1e-6)
    np.testing.assert_allclose(fresh, a + b, rtol=1e-6)
    assert one(a, b, out=(o,)) is o  # a one-array tuple returns the array
    # New arguments with the same out= object: checked again for overlap.
    with pytest.raises(AttnError, match="overlaps argument 0"):
        one(o, b, out=o)
    a += 1.0
    np.testing.assert_allclose(one(a, b, out=o), a + b, rtol=1e-6)
    empty = am.compile(ONE.replace("4x8", "0x8"))
    assert empty(np.empty((0, 8), np.float32), np.empty((0, 8), np.float32)).shape == (0, 8)
