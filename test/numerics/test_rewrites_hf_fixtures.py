"""attn-optimize on transformers' own classes (test/fixtures/hf): same results as PyTorch.

Each fixture is optimized, JIT-compiled and run on its stored inputs; every output
must match the stored PyTorch output (rtol 1e-4, atol 1e-5), with no more FLOPs or
constant bytes than after the front stage (attn-normalize). Whole layers and models are lowered with the `loops`
schedule: this test is about the rewrites, not about the cpu schedule.

The coverage the rewrites reach on these fixtures is asserted per family below
(rotary fused and raised again, QKV fused, scale folded); a family that cannot get
a rewrite says why in its comment.
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import rewrite_log
from attn_mlir.constants import constant_array
from attn_mlir.ir_utils import walk_ops
from attn_mlir.passes import lookup
from attn_mlir.raising.rotary import raise_rotary_ops
from attn_mlir.rewrite_cost import constant_bytes, function_flops
from attn_mlir.testing import check_rewrite

ROOT = Path(__file__).resolve().parents[2]
HF = ROOT / "test" / "fixtures" / "hf"
NAMES = sorted(p.stem for p in HF.glob("*.mlir"))
WHOLE = ("decoder_layer", "model", "decode_kvcache")
NORMALIZED = lookup("attn-normalize") is not None


def _optimize(name: str):
    with am.make_context():
        module = am.load(str(HF / f"{name}.mlir"))
        # attn-normalize may turn in-graph cos/sin into constant tables: count from there.
        front = "attn-inline-dense-resources" + (",attn-normalize" if NORMALIZED else "")
        am.run_pipeline(module, f"builtin.module({front})")
        before = (function_flops(module.operation), constant_bytes(module.operation))
        rewrite_log.current_log.clear()
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        events = [e for e in rewrite_log.current_log.events if e.fired]
        after = (function_flops(module.operation), constant_bytes(module.operation))
        text = str(module)
        for func in walk_ops(module.operation, "func.func"):
            raise_rotary_ops(func)
        rotaries = len([op for op in walk_ops(module.operation, "attn.rotary")
                        if any(True for _ in op.results[0].uses)])
    return text, events, before, after, rotaries


def _fired(events, pass_name: str, words: str = "") -> int:
    return sum(1 for e in events if e.pass_name == pass_name and words in e.message)


@pytest.mark.parametrize("name", NAMES)
def test_optimized_hf_fixture_matches_pytorch(name):
    text, _, before, after, _ = _optimize(name)
    assert after[0] <= before[0] and after[1] <= before[1]
    pipeline = ("builtin.module(attn-to-llvm{schedule=loops})" if any(w in name for w in WHOLE)
                else None)
    fn = am.compile(text, pipeline=pipeline) if pipeline else am.compile(text)
    data = np.load(HF / f"{name}.npz")
    args = [data[f"arg{i}"] for i in range(len(fn.arg_specs))]
    out = fn(*args)
    outs = out if isinstance(out, tuple) else (out,)
    for i, got in enumerate(outs):
        np.testing.assert_allclose(got, data[f"result{i}"], rtol=1e-4, atol=1e-5)


# (rotary fused and raised again, QKV fused, scale folded) per attention family.
# GPT-2 and GPT-NeoX project q/k/v with one fused matmul already (nothing to fuse);
# GPT-NeoX's q/k/v are interleaved per head in that matmul's columns (q is a strided
# column set: the scale fold scales just those); BERT and GPT-2 have no rotary.
COVERAGE = {
    "llama_attn": (2, 1, True), "mistral_attn": (2, 1, True), "qwen2_attn": (2, 1, True),
    "phi_attn": (2, 1, True), "bert_attn": (0, 1, True), "gpt2_attn": (0, 0, True),
    "gpt_neox_attn": (2, 0, True),
}


@pytest.mark.parametrize("name", [n for n in NAMES if n.rsplit("_", 1)[0] in COVERAGE])
def test_rewrite_coverage_on_hf_attention(name):
    rotary, qkv, scale = COVERAGE[name.rsplit("_", 1)[0]]
    _, events, _, _, rotaries = _optimize(name)
    assert _fired(events, "attn-fold-rotate-half", "fused") == rotary
    assert rotaries == rotary  # attn-raise still finds every rotary
    assert _fired(events, "attn-fuse-projections") == qkv
    # Scales written as captured f64 scalars fold once attn-normalize has made them f32.
    if scale and (NORMALIZED or name.startswith(("bert", "gpt2", "llama"))):
        assert _fired(events, "attn-fold-score-scale") >= 1


@pytest.mark.parametrize("name", [n for n in NAMES if n == "llama_decoder_layer"])
def test_decoder_layer_fuses_qkv_and_mlp_gate_up(name):
    """Q/K/V read the normed input, gate/up the post-attention normed input: two groups."""
    _, events, _, _, _ = _optimize(name)
    messages = [e.message for e in events if e.pass_name == "attn-fuse-projections"]
    assert len(messages) == 2
    assert sum("fused 3 projections" in m for m in messages) == 1   # q, k, v
    assert sum("fused 2 projections" in m for m in messages) == 1   # gate, up


def _fused_qkv(module, width: int) -> tuple[np.ndarray, np.ndarray]:
    """GPT-NeoX's fused QKV weight [in, width] and bias [width]: the constant-weight matmul
    that many columns wide (the other one is the output projection)."""
    (matmul,) = [op for op in walk_ops(module.operation, "linalg.matmul")
                 if (w := constant_array(op.operands[1])) is not None and w.shape[1] == width]
    (bias_add,) = [op for op in walk_ops(module.operation, "linalg.generic")
                   if op.operands[0] == matmul.results[0]]
    return constant_array(matmul.operands[1]), constant_array(bias_add.operands[1])


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("gpt_neox_attn")])
def test_scale_folds_into_interleaved_qkv_columns(name):
    """GPT-NeoX's fused QKV columns are [h, {q, k, v}, d]: q is the strided set h*3D + d.
    The fold scales exactly q's columns of W and b (and k's too when SDPA splits the scale
    into q * s^.5 and k * s^.5), and keeps the results on random inputs."""
    heads, dim = 4, 16                                   # the fixture's GPTNeoXConfig
    front = "builtin.module(attn-inline-dense-resources" + (",attn-normalize" if NORMALIZED
                                                             else "") + ",attn-fold-transposes)"
    with am.make_context():
        module = am.load(str(HF / f"{name}.mlir"))
        am.run_pipeline(module, front)
        text = str(module)
        w, b = _fused_qkv(module, heads * 3 * dim)
    assert b.shape == (heads * 3 * dim,)
    outcome = check_rewrite(text, "builtin.module(attn-fold-score-scale)")
    with am.make_context():
        w_after, b_after = _fused_qkv(am.parse(outcome.text), heads * 3 * dim)
    scale = 1 / np.sqrt(dim)
    parts = {0: scale} if outcome.fired("attn-fold-score-scale") == 1 else \
        {0: np.sqrt(scale), 1: np.sqrt(scale)}          # q alone, or q and k (split form)
    want_w, want_b = w.astype(np.float64), b.astype(np.float64)
    for part, factor in parts.items():
        cols = [h * 3 * dim + part * dim + d for h in range(heads) for d in range(dim)]
        want_w[:, cols] *= factor
        want_b[cols] *= factor
    np.testing.assert_allclose(w_after, want_w, rtol=1e-6, atol=0)
    np.testing.assert_allclose(b_after, want_b, rtol=1e-6, atol=0)
