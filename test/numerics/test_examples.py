"""The bundled examples and fixtures, JIT-compiled, against numpy and PyTorch outputs."""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.reference import attention_head

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"


def _head_inputs(fn, seed=0):
    rng = np.random.default_rng(seed)
    x_spec, *w_specs = fn.arg_specs
    return [rng.standard_normal(x_spec.shape).astype(np.float32)] + [
        (rng.standard_normal(s.shape) / np.sqrt(s.shape[0])).astype(np.float32) for s in w_specs]


@pytest.mark.parametrize("name, scale", [("mini_attention", 1.0), ("single_head_512", 0.125)])
def test_example_matches_numpy(name, scale):
    fn = am.compile((ROOT / "examples" / f"{name}.mlir").read_text(), entry="attention")
    inputs = _head_inputs(fn)
    np.testing.assert_allclose(fn(*inputs), attention_head(*inputs, scale=scale),
                               rtol=1e-5, atol=1e-5)


FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.mlir"))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_matches_pytorch(name):
    data = np.load(FIXTURES / f"{name}.npz")
    fn = am.compile((FIXTURES / f"{name}.mlir").read_text())
    args = [data[f"arg{i}"] for i in range(len(fn.arg_specs))]
    np.testing.assert_allclose(fn(*args), data["result0"], rtol=1e-4, atol=1e-5)


def test_wrong_shape_and_dtype_are_reported():
    fn = am.compile((ROOT / "examples" / "mini_attention.mlir").read_text())
    good = _head_inputs(fn)
    with pytest.raises(am.AttnError, match="argument 0 of @attention: expected shape 4x8"):
        fn(good[0][:3], *good[1:])
    with pytest.raises(am.AttnError, match="expected dtype float32"):
        fn(good[0].astype(np.float64), *good[1:])
    with pytest.raises(am.AttnError, match="takes 4 arguments, got 3"):
        fn(*good[:3])
