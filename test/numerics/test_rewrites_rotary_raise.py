"""Rotary embedding stays recognisable through attn-optimize.

attn-optimize fuses a rotary embedding it cannot fold into the weights into the
rotary kernel's form; `raise_rotary_ops` (attn-raise's rotary step) must find
as many `attn.rotary` in that output as in the original, and the raised module
must still compute the fixture's PyTorch result.
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.ir_utils import walk_ops
from attn_mlir.raising.rotary import raise_rotary_ops

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
ROTARY_FIXTURES = ("llama_mha", "neox_partial_rotary", "rope_cos_sin_inputs", "llama_single_head")


def _raised(name: str, pipeline: str | None) -> tuple[int, str]:
    with am.make_context():
        module = am.load(str(FIXTURES / f"{name}.mlir"))
        if pipeline:
            am.run_pipeline(module, pipeline)
        for func in walk_ops(module.operation, "func.func"):
            raise_rotary_ops(func)
        # Raised partial rotary leaves its inner attn.rotary dead: count the live ones.
        live = [op for op in walk_ops(module.operation, "attn.rotary")
                if any(True for _ in op.results[0].uses)]
        return len(live), str(module)


@pytest.mark.parametrize("name", ROTARY_FIXTURES)
def test_attn_optimize_output_raises_as_many_rotaries(name):
    before, _ = _raised(name, None)
    after, text = _raised(name, "builtin.module(attn-optimize)")
    assert before > 0 and after == before
    data = np.load(FIXTURES / f"{name}.npz")
    fn = am.compile(text)
    args = [data[f"arg{i}"] for i in range(len(fn.arg_specs))]
    np.testing.assert_allclose(fn(*args), data["result0"], rtol=1e-4, atol=1e-5)


def test_llama_mha_has_two_rotaries_after_attn_optimize():
    count, _ = _raised("llama_mha", "builtin.module(attn-optimize)")
    assert count == 2


def _chunk(label: str) -> str:
    text = (ROOT / "test" / "Passes" / "attn-fold-rotate-half.mlir").read_text()
    return next(c for c in text.split("// -----") if f"func.func @{label}(" in c)


@pytest.mark.parametrize("pipeline", [None, "builtin.module(attn-optimize)"])
def test_interleaved_rotary_raises_with_its_style(pipeline):
    """GPT-J's rotate_every_two (before and after attn-optimize) is attn.rotary {interleaved}."""
    text = _chunk("interleaved_prefill_fused")
    with am.make_context():
        module = am.parse_module(text, "case.mlir")
        want = am.compile(str(module))
        if pipeline:
            am.run_pipeline(module, pipeline)
        for func in walk_ops(module.operation, "func.func"):
            raise_rotary_ops(func)
        rotaries = walk_ops(module.operation, "attn.rotary")
        assert [str(op.attributes["style"]) for op in rotaries] == ['"interleaved"']
        got = am.compile(str(module))
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(got(x), want(x), rtol=1e-5, atol=1e-6)


def test_rotary_written_as_one_generic_is_raised():
    """x * cos + rotate_half(x) * sin computed in one generic's body (the benchmark's
    hand-written multi-head attention) is attn.rotary, and the lowered function still
    matches float64 numpy."""
    from attn_mlir.bench import workloads

    w = workloads.mha("mha", 24, 64, 4)
    with am.make_context():
        module = am.parse_module(w.text, "mha.mlir")
        am.run_pipeline(module, "builtin.module(attn-normalize, attn-raise)")
        assert len(walk_ops(module.operation, "attn.rotary")) == 2
        assert not walk_ops(module.operation, "tensor.concat")
    inputs = w.inputs()
    for threads in (1, 2):
        fn = am.compile(w.text, pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
        want = w.reference(inputs)
        np.testing.assert_allclose(fn(*inputs), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


# Exports of real model code whose rotary embedding, after upstream elementwise
# fusion, is one generic computing x*cos + rotate_half(x)*sin (where the fusion
# instead folds the rotary into the score contraction, as in Llama's eager
# attention, nothing is raised and nothing changes).
FUSED_EXPORTS = ["hf/gpt_neox_attn_eager", "hf/phi_attn_eager", "llama_single_head",
                 "neox_partial_rotary"]
FUSE = "builtin.module(attn-normalize, func.func(linalg-fuse-elementwise-ops))"


@pytest.mark.parametrize("name", FUSED_EXPORTS)
def test_real_exports_after_elementwise_fusion_raise_the_same_rotaries(name):
    before, _ = _raised(name, None)
    after, text = _raised(name, FUSE)
    assert before > 0 and after == before
    data = np.load(FIXTURES / f"{name}.npz")
    fn = am.compile(text)
    args = [data[f"arg{i}"] for i in range(len(fn.arg_specs))]
    np.testing.assert_allclose(fn(*args), data["result0"], rtol=1e-4, atol=1e-5)
