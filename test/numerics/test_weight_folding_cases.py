"""Every case of the weight-folding rewrites' lit tests, run before and after its pass.

Each `// -----` chunk of test/Passes/<pass>.mlir is JIT-compiled as written
and after the pass, and both run on the same random inputs: a rewrite that
fires must not change the result (rtol 1e-4, atol 1e-5), and one that does
not fire must leave it alone too.
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import rewrite_log
from attn_mlir.rewrite_cost import function_flops

ROOT = Path(__file__).resolve().parents[2]
PASSES = ("attn-fold-rotate-half", "attn-fold-mul-into-matmul", "attn-merge-adds", "attn-optimize",
          "attn-fold-score-scale", "attn-fuse-projections", "attn-fold-transposes")


def _cases():
    for name in PASSES:
        text = (ROOT / "test" / "Passes" / f"{name}.mlir").read_text()
        for index, chunk in enumerate(text.split("// -----")):
            label = next(line.split("@")[1].split("(")[0] for line in chunk.splitlines()
                         if line.startswith("func.func @"))
            yield pytest.param(name, label, chunk, id=f"{name}:{label}")


@pytest.mark.parametrize("pass_name, label, chunk", list(_cases()))
def test_rewrite_preserves_results(pass_name, label, chunk):
    with am.make_context():
        module = am.parse_module(chunk, "case.mlir")
        before_flops = function_flops(module.operation)
        before = am.compile(module)
        rewrite_log.current_log.clear()
        am.run_pipeline(module, f"builtin.module({pass_name})")
        fired = [e for e in rewrite_log.current_log.events if e.fired]  # before the JIT logs its own
        after_flops = function_flops(module.operation)
        after = am.compile(module)
    assert after_flops <= before_flops
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(spec.shape).astype(spec.dtype) for spec in before.arg_specs]
    want, got = before(*inputs), after(*inputs)
    if not isinstance(want, tuple):
        want, got = (want,), (got,)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    expect_fire = "not_applicable" not in label
    assert bool(fired) == expect_fire or "negative" in label
