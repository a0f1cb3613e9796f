"""The rewrites on torch-mlir fixtures: same numbers before and after, and PyTorch's.

Each fixture is JIT-run on its stored inputs before and after a pipeline of
rewrites (rtol 1e-4, atol 1e-5), the rewritten result is also checked against
the stored PyTorch output, each pass in the pipeline must have fired, and the
report must show no FLOP increase.
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.report import count_module
from attn_mlir.testing import check_rewrite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.mlir"))
# Weights must become constants [in, out] first; the scale folds into Wq before
# or after Q/K/V are fused (then into Wq's columns of the fused weight).
PIPELINES = {
    "transposes": ["attn-fold-transposes"],
    "score-scale": ["attn-fold-transposes", "attn-fold-score-scale"],
    "all": ["attn-fold-transposes", "attn-fold-score-scale", "attn-fuse-projections"],
    "all-fuse-first": ["attn-fold-transposes", "attn-fuse-projections", "attn-fold-score-scale"],
}
NO_SCALE = {"mini_attention"}  # softmax(Q K^T) V with no scale


def _expected_to_fire(name: str, passes: list[str]) -> list[str]:
    return [p for p in passes if not (p == "attn-fold-score-scale" and name in NO_SCALE)]


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
@pytest.mark.parametrize("name", NAMES)
def test_rewritten_fixture_matches(name, pipeline):
    text = (FIXTURES / f"{name}.mlir").read_text()
    data = np.load(FIXTURES / f"{name}.npz")
    inputs = [data[f"arg{i}"] for i in range(len(data.files) - 1)]
    passes = PIPELINES[pipeline]
    outcome = check_rewrite(text, f"builtin.module({','.join(passes)})", inputs)
    np.testing.assert_allclose(outcome.after[0], data["result0"], rtol=1e-4, atol=1e-5)
    for p in _expected_to_fire(name, passes):
        assert outcome.fired(p), f"{p} did not fire on {name}"
    with am.make_context():
        before = count_module(am.parse(text))["forward"]
        after = count_module(am.parse(outcome.text))["forward"]
    assert after.flops <= before.flops
    assert after.matmuls <= before.matmuls
