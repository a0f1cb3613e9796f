"""attn-raise proven numerically: the same module compiled with and without raising
(attn-to-llvm vs attn-to-llvm{raise=false}) on the same inputs, and against PyTorch."""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.ir_utils import walk_ops
from attn_cases import random_inputs

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
RAISE_CASES = ROOT / "test" / "Passes" / "attn-raise.mlir"

# max-score-bytes=0: raise every attention head, however small, and use the fused kernel.
RAISED = "builtin.module(attn-to-llvm{max-score-bytes=0})"
AS_WRITTEN = "builtin.module(attn-to-llvm{raise=false})"

# What attn-raise must produce on each fixture: (attn.sdpa count, attn.rotary count).
EXPECTED = {
    "llama_single_head": (1, 2), "llama_mha": (1, 2), "gqa": (1, 2), "causal_sdpa": (1, 0),
    "neox_partial_rotary": (1, 2), "decode_fixed_position": (1, 2),
    "rope_cos_sin_inputs": (1, 2), "mini_attention": (1, 0),
}


def _raised_counts(text):
    with am.make_context():
        module = am.parse(text)
        am.run_pipeline(module, "builtin.module(attn-raise)")
        return (len(walk_ops(module.operation, "attn.sdpa")),
                len(walk_ops(module.operation, "attn.rotary")))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_raised_matches_pytorch_and_unraised(name):
    text = (FIXTURES / f"{name}.mlir").read_text()
    assert _raised_counts(text) == EXPECTED[name]
    data = np.load(FIXTURES / f"{name}.npz")
    raised = am.compile(text, pipeline=RAISED)
    args = [data[f"arg{i}"] for i in range(len(raised.arg_specs))]
    got = raised(*args)
    np.testing.assert_allclose(got, data["result0"], rtol=1e-4, atol=1e-5)
    if name != "causal_sdpa":  # as written, its i1 mask cannot be lowered by MLIR 22
        np.testing.assert_allclose(got, am.compile(text, pipeline=AS_WRITTEN)(*args),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["mini_attention", "single_head_512"])
def test_example_raised_matches_unraised(name):
    text = (ROOT / "examples" / f"{name}.mlir").read_text()
    assert _raised_counts(text) == (1, 0)
    raised = am.compile(text, pipeline=RAISED)
    x, *weights = random_inputs(raised)
    # Weights scaled by 1/sqrt(fan-in) keep the logits O(1), as in a trained model;
    # unscaled, softmax is one-hot and float rounding alone decides the result.
    args = [x] + [w / np.float32(np.sqrt(w.shape[0])) for w in weights]
    np.testing.assert_allclose(raised(*args), am.compile(text, pipeline=AS_WRITTEN)(*args),
                               rtol=1e-4, atol=1e-5)


def _cases():
    """The functions of the lit test's split chunks (static shapes: the JIT needs them)."""
    out = []
    for chunk in RAISE_CASES.read_text().split("// -----"):
        if "?x" in chunk:
            continue
        for line in chunk.splitlines():
            if line.startswith("func.func @"):
                name = line.split("@")[1].split("(")[0]
                out.append((chunk, name))
    return out


@pytest.mark.parametrize("chunk, name", _cases(), ids=[n for _, n in _cases()])
def test_hand_written_case_raised_matches_unraised(chunk, name):
    raised = am.compile(chunk, entry=name, pipeline=RAISED)
    args = random_inputs(raised, seed=7)
    want = am.compile(chunk, entry=name, pipeline=AS_WRITTEN)(*args)
    np.testing.assert_allclose(raised(*args), want, rtol=1e-4, atol=1e-5)
