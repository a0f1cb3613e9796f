"""One compiled layer for every layer of a model: weights files swapped, machine code shared.

`test/fixtures/hf/llama_pieces` is what examples/llama_1b_torch.py writes for a tiny
2-layer `LlamaForCausalLM` (hidden 32, 4 query / 2 key-value heads, prompt 8, 8
greedy tokens): torch-mlir exports of the embedding, one decoder layer (prefill
and decode step with fixed-capacity caches), the head, each layer's weights in
`layers/K.safetensors` under the same names, and PyTorch's own tokens and logits.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import weights
from attn_mlir.lowering.lift_weights import lifted_names

ROOT = Path(__file__).resolve().parents[2]
PIECES = ROOT / "test" / "fixtures" / "hf" / "llama_pieces"
DECODE = PIECES / "layer_decode.mlir"
LAYER = [PIECES / "layers" / f"{k}.safetensors" for k in range(2)]
LIFT_FIRST = "builtin.module(attn-lift-weights,attn-to-llvm)"


def _decode_inputs(fn):
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal(fn.arg_specs[0].shape).astype(np.float32)
    caches = [rng.standard_normal(fn.arg_specs[i].shape).astype(np.float32) for i in (2, 3)]
    return hidden, np.array([3], np.int64), *caches


def _compiled(path=DECODE, weights_files=None, pipeline=LIFT_FIRST, optimize=False):
    with am.make_context():
        module = am.load(str(path), weights_files=weights_files)
        if optimize:
            am.optimize(module)
        return am.compile(module, pipeline=pipeline)


def test_with_weights_runs_another_layer_with_the_same_code():
    layer0 = _compiled()
    layer1 = layer0.with_weights(LAYER[1])
    assert layer1.engine is layer0.engine
    assert layer1.weight_names == layer0.weight_names
    # The bound arrays are the mapped file, not copies.
    mapped = weights.open_weights(str(LAYER[1]))
    for name, array in zip(layer1.weight_names, layer1.weights):
        assert np.shares_memory(array, mapped.array(name))
    inputs = _decode_inputs(layer0)
    # The reference: layer 1's weights read at parse time, packed and lowered by default.
    want = _compiled(weights_files=[str(LAYER[1])], pipeline="builtin.module(attn-to-llvm)")(*inputs)
    got = layer1(*inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    other = layer0(*inputs)
    assert not np.allclose(other[0], got[0])  # layer 0 is another function


def test_modules_that_differ_only_in_their_files_share_an_engine():
    first = _compiled(weights_files=[str(LAYER[0])])
    second = _compiled(weights_files=[str(LAYER[1])])
    assert second.engine is first.engine
    assert second._lock is first._lock  # one workspace: one call at a time
    prefill = _compiled(PIECES / "layer_prefill.mlir")
    assert prefill.engine is not first.engine


def test_parse_with_weights_files_names_them():
    with am.make_context():
        module = am.load(str(DECODE), weights_files=[str(LAYER[1])])
        assert weights.file_names(module.operation) == [str(LAYER[1])]
        with pytest.raises(am.AttnError, match="No such file"):
            am.load(str(DECODE), weights_files=[str(PIECES / "missing.safetensors")])
        # A file that lacks a weight the module loads: a located error.
        with pytest.raises(am.AttnError, match="layer.self_attn.q_proj.weight"):
            am.load(str(DECODE), weights_files=[str(PIECES / "embed.safetensors")])


def test_with_weights_refuses_weights_the_compiler_derived():
    # attn-optimize fuses Q/K/V and gate/up into new weights computed from layer 0's file.
    fused = _compiled(optimize=True, pipeline="builtin.module(attn-to-llvm)")
    assert any(n.startswith("attn.derived.") for n in fused.weight_names)
    with pytest.raises(am.AttnError, match="derived"):
        fused.with_weights(LAYER[1])


def test_with_weights_checks_names_shapes_and_files(tmp_path):
    layer0 = _compiled()
    with pytest.raises(am.AttnError, match="in none of"):
        layer0.with_weights(PIECES / "embed.safetensors")
    arrays = {name: np.zeros(np.array(a.shape) + 1, a.dtype)
              for name, a in zip(layer0.weight_names, layer0.weights)}
    wrong = tmp_path / "wrong.safetensors"
    weights.write_safetensors(str(wrong), arrays)
    with pytest.raises(am.AttnError, match="the function takes"):
        layer0.with_weights(wrong)
    with pytest.raises(am.AttnError, match="not a regular file"):
        layer0.with_weights(tmp_path)


def test_lifting_twice_appends_to_the_lifted_list():
    """Weights lifted before attn-optimize, then the ones it derives lifted by attn-to-llvm:
    the function binds both, in argument order."""
    with am.make_context():
        module = am.load(str(PIECES / "final.mlir"))
        am.run_pipeline(module, "builtin.module(attn-lift-weights)")
        early = lifted_names(module.operation, "forward")
        assert early
        fn = am.compile(module)
        assert fn.weight_names[:len(early)] == early
        assert len(fn.arg_specs) == 1  # the lifted weights are bound, not passed
        hidden = np.random.default_rng(1).standard_normal(fn.arg_specs[0].shape).astype(np.float32)
        want = _compiled(PIECES / "final.mlir", pipeline="builtin.module(attn-to-llvm)")(hidden)
        np.testing.assert_allclose(fn(hidden), want, rtol=1e-5, atol=1e-6)


def test_llama_example_generates_pytorch_tokens_from_the_tiny_export():
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "llama_1b.py"), "--from",
                           str(PIECES)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 tokens identical to PyTorch's" in done.stdout
