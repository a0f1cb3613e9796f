"""`python -m attn_mlir.bench` end to end on the smallest workload: every
peer's result is checked against numpy before it is timed, and the reports
are written. The ONNX graphs of every workload kind agree with the float64
references (when onnxruntime is installed), and the peak microbenchmark's
spill check reads a disassembly the way objdump prints it."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attn_mlir.bench import workloads as wl
from attn_mlir.bench.peak import fma_loop_memory_operands

BENCH = Path(wl.__file__).resolve().parent


def test_bench_seed_writes_reports(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "attn_mlir.bench", "--workloads", "seed",
                           "--peers", "numpy", "--rounds", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    row = results["workloads"][0]
    assert row["workload"] == "seed"
    for peer in ("attn-mlir", "numpy"):
        r = row["peers"][peer]
        assert "median_s" in r and r["first_call_s"] > 0 and r["rounds"] == 2, r
    assert row["peers"]["attn-mlir"]["peak_rss_mib"] > 0
    assert "| seed |" in (out / "results.md").read_text()
    assert "numpy peer BLAS:" in proc.stdout


def test_workload_references_agree_with_numpy_peer_math():
    """The float64 references and the shapes the MLIR builders declare agree."""
    for w in (wl.head("h", 5, 8, 4), wl.mha("m", 6, 16, 2), wl.decode("d", 16, 8, 5)):
        inputs = w.inputs()
        ref = w.reference(inputs)
        assert ref.shape == {"head": (5, 4), "mha": (6, 16), "decode": (1, 8)}[w.kind]
        assert "func.func @main" in w.text


def _small(kind):
    return {"head": wl.head("h", 6, 8, 4), "decode": wl.decode("d", 8, 4, 5),
            "mha": wl.mha("m", 6, 16, 2), "layer": wl.layer("l", 6, 16, 2),
            "decoder": wl.decoder_layer("dl", 6, 16, 2, 24),
            "decoder_step": wl.decoder_layer("ds", 1, 16, 2, 24, context=5)}[kind]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None
                    or importlib.util.find_spec("onnx") is None, reason="onnxruntime not installed")
@pytest.mark.parametrize("kind", ["head", "decode", "mha", "layer", "decoder", "decoder_step"])
@pytest.mark.parametrize("form", ["plain", "mha", "attn23"])
def test_onnx_graphs_match_reference(kind, form, monkeypatch):
    if form == "mha" and kind.startswith("decoder"):
        pytest.skip("no com.microsoft graph of the decoder layer")
    monkeypatch.syspath_prepend(str(BENCH))  # peers.py is a script next to onnx_graphs.py
    import peers
    w = _small(kind)
    inputs = w.inputs()
    mkind, arrays, consts = peers.peer_arrays(kind, w.params, inputs, w.constants())
    run, _, _, _ = peers.ort_peer(form, mkind, w.params, arrays, consts, 1)
    want = w.reference(inputs)
    np.testing.assert_allclose(run().reshape(want.shape), want, rtol=1e-4, atol=1e-5)


def test_layer_constants_are_the_mlir_constants():
    """The peers' weights are the transposed constants baked into the layer's MLIR."""
    w = wl.layer("l", 4, 8, 2)
    wq_t = w.constants()[0]
    hexes = [ln for ln in w.text.splitlines() if "%wq = arith.constant" in ln]
    assert len(hexes) == 1
    raw = bytes.fromhex(hexes[0].split('"0x')[1].split('"')[0])
    wq = np.frombuffer(raw, np.float32).reshape(8, 8)
    np.testing.assert_array_equal(wq_t, wq.T)


def test_spill_check_counts_memory_operands_between_fmas():
    clean = ("0000000000001670 <fma_loop>:\n  1670: vmovaps %zmm0,%zmm1\n"
             "  1680: vfmadd213ps %zmm2,%zmm3,%zmm1\n  1690: vfmadd213ps %zmm2,%zmm3,%zmm4\n"
             "  16a0: ret\n\n0000000000001700 <other>:\n  1700: vmovaps (%rsp),%zmm1\n")
    spilled = clean.replace("  1690:", "  1688: vmovaps %zmm5,0x40(%rsp)\n  1690:")
    assert fma_loop_memory_operands(clean) == 0
    assert fma_loop_memory_operands(spilled) == 1
    assert fma_loop_memory_operands("<fma_loop>:\n  ret\n") == -1


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
@pytest.mark.parametrize("kind", ["head", "decode", "mha", "layer", "decoder", "decoder_step"])
def test_torch_peer_matches_reference(kind, monkeypatch):
    """The PyTorch peer (SDPA; F.rms_norm and F.silu in the decoder layer) computes the
    workload's float64 reference."""
    monkeypatch.syspath_prepend(str(BENCH))
    import peers
    w = _small(kind)
    inputs = w.inputs()
    mkind, arrays, consts = peers.peer_arrays(kind, w.params, inputs, w.constants())
    run, _, _, _ = peers.torch_peer(mkind, w.params, arrays, consts, 1)
    want = w.reference(inputs)
    np.testing.assert_allclose(run().reshape(want.shape), want, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("iree") is None, reason="IREE not installed")
@pytest.mark.parametrize("config", ["iree", "iree-o3"])
@pytest.mark.parametrize("kind", ["head", "layer"])
def test_iree_peer_runs_the_workload_entry(kind, config, tmp_path):
    """IREE (its defaults, and O3 with micro-kernels) compiles the same MLIR text and
    calls its entry (`forward` for the torch-mlir form of the Llama layer, `main`
    elsewhere). In a worker process, as the harness runs it: IREE and attn-mlir
    each carry MLIR and cannot share one."""
    w = _small(kind)
    inputs = w.inputs()
    (tmp_path / "workload.json").write_text(json.dumps(
        {"name": w.name, "kind": w.kind, "params": w.params, "text": w.text, "entry": w.entry}))
    np.savez(tmp_path / "inputs.npz", **{f"arg{i}": a for i, a in enumerate(inputs)})
    proc = subprocess.run([sys.executable, str(BENCH / "peers.py"), config, str(tmp_path), "1"],
                          input="quit\n", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    want = w.reference(inputs)
    got = np.load(tmp_path / f"{config}.npy")
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["decoder", "decoder_step"])
def test_decoder_workloads_compile_and_match_reference(kind):
    """The decoder layer's MLIR (constant weights, causal mask / KV cache) computes
    the float64 reference; so does the numpy-style math the numpy and JAX peers run."""
    import attn_mlir as am
    from attn_mlir.bench.decoder_math import math
    from attn_mlir.reference import softmax

    w = _small(kind)
    inputs = w.inputs()
    want = w.reference(inputs)
    fn = am.compile(w.text, entry=w.entry, pipeline="builtin.module(attn-to-llvm{threads=1})")
    np.testing.assert_allclose(fn(*inputs), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(math(np, softmax, w.params)(*inputs, *w.constants()), want,
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["decoder", "decoder_step"])
def test_decoder_workloads_with_weights_in_a_file(kind, tmp_path):
    """The same layer with its weight matrices in a safetensors file (loaded by name,
    bound once) computes the same reference, optimized and not."""
    import attn_mlir as am
    from attn_mlir.bench import decoder as dc

    w = _small(kind)
    inputs = w.inputs()
    want = w.reference(inputs)
    text = dc.mlir(w.params, str(tmp_path / "w.safetensors"))
    assert "ml_program.global_load_const @wq" in text and "arith.constant dense<\"0x" in text
    for optimize in (False, True):
        with am.make_context():
            module = am.parse(text)
            if optimize:
                am.optimize(module)
            fn = am.compile(module, entry=w.entry, pipeline="builtin.module(attn-to-llvm{threads=1})")
        assert fn.weight_names  # bound from the file, not in the IR
        np.testing.assert_allclose(fn(*inputs), want, rtol=1e-4, atol=1e-5)


def test_round_order_changes_so_no_peer_always_follows_the_same_one():
    from attn_mlir.bench.__main__ import round_order

    peers = ["attn-mlir", "numpy", "ort-plain", "torch"]
    orders = [round_order(peers, r) for r in range(7)]
    assert all(sorted(o) == sorted(peers) for o in orders)
    # Across rounds (the last peer of one round runs just before the first of the
    # next), each peer is preceded by a different peer each time.
    sequence = [p for o in orders for p in o]
    before = {p: {sequence[i - 1] for i in range(1, len(sequence)) if sequence[i] == p}
              for p in peers}
    assert all(len(b) > 1 for b in before.values()), before
    assert round_order([], 3) == [] and orders[2] == round_order(peers, 2)  # seeded
