"""The real-model fixtures (test/fixtures/hf) compile, run and match PyTorch.

Every fixture is JIT-compiled with ``attn_mlir.compile`` and run on its
stored inputs; each ``resultN`` must match the PyTorch output in the npz
(rtol 1e-4, atol 1e-5), with the default pipeline (``attn-to-llvm``). The
decoder-layer, model and decode-step fixtures are also checked under
``attn-to-llvm{schedule=loops raise=false}`` (the linalg as written, plain loops).

LLVM runs at -O0 here: the same numbers, a fraction of the JIT time (the
2-layer model takes ~25 s at -O3 on a loaded machine).
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hf"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.mlir"))
DEFAULT = "builtin.module(attn-to-llvm)"
LOOPS = "builtin.module(attn-to-llvm{schedule=loops raise=false})"

WHOLE_LAYERS = ["llama_decode_kvcache", "llama_decode_kvcache_layer", "llama_decoder_layer",
                "llama_decoder_layer_seq64",
                "llama_model_2layer", "llama_model_2layer_eager", "llama_decode_dynamic_cache"]


def _load(name: str):
    data = np.load(FIXTURES / f"{name}.npz")
    args = [data[f"arg{i}"] for i in range(sum(k.startswith("arg") for k in data.files))]
    results = [data[f"result{i}"] for i in range(sum(k.startswith("result") for k in data.files))]
    return (FIXTURES / f"{name}.mlir").read_text(), args, results


def _check(name: str, pipeline: str) -> None:
    text, args, expected = _load(name)
    fn = am.compile(text, pipeline=pipeline, opt_level=0)
    got = fn(*args)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape and g.dtype == e.dtype, f"result{i}"
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5, err_msg=f"{name} result{i}")


def test_fixtures_present():
    assert len(NAMES) >= 22
    assert set(WHOLE_LAYERS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_default_pipeline_matches_pytorch(name):
    _check(name, DEFAULT)


@pytest.mark.parametrize("name", WHOLE_LAYERS)
def test_loops_schedule_matches_pytorch(name):
    _check(name, LOOPS)


def test_decode_step_generates_the_reference_tokens():
    """32 greedy steps of the compiled ``llama_decode_kvcache`` from token 1 at
    position 0 and zero caches: the same logits and tokens as HF's
    ``LlamaForCausalLM`` with a ``DynamicCache``
    (``llama_decode_kvcache_steps.npz``)."""
    text, args, _ = _load("llama_decode_kvcache")
    ref = np.load(FIXTURES / "llama_decode_kvcache_steps.npz")
    assert (ref["input_ids"][1:] == ref["next_ids"][:-1]).all()
    assert (ref["next_ids"] == ref["logits"].argmax(-1)).all()
    fn = am.compile(text, pipeline=LOOPS, opt_level=0)
    caches = [np.zeros_like(c) for c in args[2:]]
    token = np.array([[ref["input_ids"][0]]], dtype=np.int64)
    for step in range(len(ref["positions"])):
        position = np.array([ref["positions"][step]], dtype=np.int64)
        logits, *caches = fn(token, position, *caches)
        np.testing.assert_allclose(logits[0, 0], ref["logits"][step], rtol=1e-4, atol=1e-5,
                                   err_msg=f"step {step}")
        token = logits[0, 0].argmax().reshape(1, 1).astype(np.int64)
        assert token[0, 0] == ref["next_ids"][step], f"step {step}"
    for i, cache in enumerate(caches):
        np.testing.assert_allclose(cache, ref[f"{'kv'[i % 2]}_cache{i // 2}_final"],
                                   rtol=1e-4, atol=1e-5)
