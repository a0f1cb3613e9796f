"""Whole decoder layers and models exported by torch-mlir from transformers
(test/fixtures/hf): `attn-run` with the default pipeline matches PyTorch's
outputs, and the fixed-capacity KV-cache decode step generates PyTorch's
tokens step by step (examples/generate.py)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am

ROOT = Path(__file__).resolve().parents[2]
HF = ROOT / "test" / "fixtures" / "hf"
sys.path.insert(0, str(ROOT / "examples"))

import generate  # noqa: E402

LAYERS = ["llama_decoder_layer", "llama_decoder_layer_seq64", "llama_model_2layer", "llama_decode_kvcache",
          "llama_decode_kvcache_layer", "llama_decode_dynamic_cache"]


@pytest.mark.parametrize("name", LAYERS)
def test_attn_run_default_pipeline_matches_pytorch(name):
    fixture = HF / f"{name}.mlir"
    data = HF / f"{name}.npz"
    run = subprocess.run([sys.executable, "-m", "attn_mlir.tools.attn_run", str(fixture),
                          "--inputs", str(data), "--expect", str(data), "--rtol", "1e-4",
                          "--atol", "1e-5", "-q"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "error" not in run.stderr


@pytest.mark.parametrize("threads", [1, 2])
def test_model_single_and_multi_threaded(threads):
    data = np.load(HF / "llama_model_2layer.npz")
    fn = am.compile((HF / "llama_model_2layer.mlir").read_text(),
                    pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    np.testing.assert_allclose(fn(data["arg0"], data["arg1"]), data["result0"], rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def step_fn():
    """The decode step, compiled once for every generation test (as a real loop would)."""
    return am.compile((HF / "llama_decode_kvcache.mlir").read_text())


def test_generate_32_tokens_matches_pytorch_step_by_step(step_fn):
    """One compiled step function, its caches fed back: every step's logits and
    greedy token equal PyTorch's (HF's DynamicCache), and so do the final caches."""
    reference = np.load(HF / "llama_decode_kvcache_steps.npz")
    caches = [np.zeros(spec.shape, spec.dtype) for spec in step_fn.arg_specs[2:]]
    steps = len(reference["next_ids"])
    assert steps == 32
    seen = 0
    for position, token, logits, next_token, _ in generate.generate(
            step_fn, int(reference["input_ids"][0]), steps, caches):
        assert token == reference["input_ids"][position]
        np.testing.assert_allclose(logits, reference["logits"][position], rtol=1e-4, atol=1e-5)
        assert next_token == reference["next_ids"][position]
        seen += 1
    assert seen == 32


def test_generate_final_caches_match_pytorch(step_fn):
    reference = np.load(HF / "llama_decode_kvcache_steps.npz")
    caches = [np.zeros(spec.shape, spec.dtype) for spec in step_fn.arg_specs[2:]]
    token = int(reference["input_ids"][0])
    for position in range(len(reference["next_ids"])):
        logits, *caches = step_fn(np.array([[token]], np.int64), np.array([position], np.int64), *caches)
        token = int(np.argmax(logits[0, 0]))
    for i, cache in enumerate(caches):
        np.testing.assert_allclose(cache, reference[f"{'kv'[i % 2]}_cache{i // 2}_final"],
                                   rtol=1e-4, atol=1e-5)


def test_generate_example_script():
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "--steps", "8",
                          "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "matches PyTorch at every step" in run.stdout
