"""`python -m attn_mlir.bench` end to end on the smallest workload: every
peer's result is checked against numpy before it is timed, and the reports
are written."""

import json
import subprocess
import sys

from attn_mlir.bench import workloads as wl


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
        assert "median_s" in row["peers"][peer], row["peers"][peer]
    assert "| seed |" in (out / "results.md").read_text()


def test_workload_references_agree_with_numpy_peer_math():
    """The float64 references and the shapes the MLIR builders declare agree."""
    for w in (wl.head("h", 5, 8, 4), wl.mha("m", 6, 16, 2), wl.decode("d", 16, 8, 5)):
        inputs = w.inputs()
        ref = w.reference(inputs)
        assert ref.shape == {"head": (5, 4), "mha": (6, 16), "decode": (1, 8)}[w.kind]
        assert "func.func @main" in w.text
