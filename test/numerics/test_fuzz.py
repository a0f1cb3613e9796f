"""A short seeded fuzz run (python -m attn_mlir.fuzz): no signal, internal error, timeout
or numeric mismatch. The long run is on demand (see the README's Robustness section)."""

import json
import subprocess
import sys

from attn_mlir.fuzz import mutate
from attn_mlir.fuzz.run import ToolRun


def test_short_seeded_run(tmp_path):
    done = subprocess.run([sys.executable, "-m", "attn_mlir.fuzz", "--cases", "40", "--seed", "3",
                           "--time-limit", "30", "--timeout", "300", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["cases"] >= 1
    bad = {k: summary[k] for k in ("internal", "signal", "timeout", "mismatch") if summary[k]}
    assert not bad, done.stdout
    assert done.returncode == 0
    assert not list(tmp_path.iterdir())  # no reproducers


def test_classification():
    assert ToolRun([], None, "", "").kind() == "timeout"
    assert ToolRun([], -6, "", "").kind() == "signal"
    assert ToolRun([], 1, "", "f.mlir: error: the compiler crashed (signal 6, SIGABRT) while "
                              "parsing the input\n").kind() == "signal"
    assert ToolRun([], 1, "", "error: internal error: KeyError: 'x'\n").kind() == "internal"
    assert ToolRun([], 1, "", "Traceback (most recent call last):\n").kind() == "internal"
    assert ToolRun([], 1, "", "f.mlir:1:2: error: expected ':'\n").kind() == "diagnostic"
    assert ToolRun([], 2, "", "attn-opt: error: unrecognized arguments: --x (see attn-opt "
                              "--help)\n").kind() == "diagnostic"
    assert ToolRun([], 1, "", "something odd\n").kind() == "internal"
    assert ToolRun([], 0, "module {}\n", "").kind() == "success"


def test_mutations_are_seeded():
    import random

    text = "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %a : tensor<4xf32>\n}\n"
    first = [mutate.mutate(text, random.Random(s)) for s in range(20)]
    again = [mutate.mutate(text, random.Random(s)) for s in range(20)]
    assert first == again
    assert len({t for t, _ in first}) > 10


def test_workers_are_drained_together(tmp_path, monkeypatch):
    """Worker 1 fills its pipe many times over before worker 0 reports anything: the
    parent must read both as lines arrive, or worker 1 blocks and worker 0 waits in vain."""
    import time
    from types import SimpleNamespace

    from attn_mlir.fuzz import run

    marker = tmp_path / "worker-1-done"

    def fake_cases(args, seeds, indices, report):
        if indices.start == 1:
            for index in range(20_000):  # ~1 MB of lines: the pipe holds 64 KiB
                report(f"{index:05d}-case", "success", "", None)
            marker.touch()
            return
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        report("00000-case", "success" if marker.exists() else "internal", "", None)

    monkeypatch.setattr(run, "_run_cases", fake_cases)
    kinds = []
    run._in_workers(SimpleNamespace(jobs=2, cases=4), None, lambda name, kind, *_: kinds.append(kind))
    assert len(kinds) == 20_001
    assert set(kinds) == {"success"}
