"""Compiled functions do not leak: every internal buffer is freed, results are caller-owned.

`attn-to-llvm` frees internal buffers (`buffer-deallocation-pipeline`) and
turns results into out-parameters (`buffer-results-to-out-params`), so a
call allocates nothing that outlives it. The resident set size (from
/proc/self/statm) must stay flat over many calls. Each measurement runs in a
fresh interpreter: in a long-lived one, heap freed by earlier tests would
absorb a leak without growing the RSS.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CALLS = 10_000
# malloc and numpy keep some slack; a leak of the 4x8 head's buffers is ~800 bytes a call.
BOUND = 1 << 20

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")

MEASURE = """
import os, sys
import numpy as np
import attn_mlir as am
from attn_mlir.pipeline import Pipeline, make_pass

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

pipeline = "builtin.module(attn-to-llvm)"
if sys.argv[2] == "no-dealloc":
    pipeline = Pipeline([p for p in make_pass("attn-to-llvm").expand()
                         if p != "buffer-deallocation-pipeline"])
fn = am.compile(open(sys.argv[1]).read(), pipeline=pipeline)
rng = np.random.default_rng(0)
args = [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]
for _ in range(500):  # warm-up: allocator pools, numpy caches
    fn(*args)
before = rss()
for _ in range(int(sys.argv[3])):
    fn(*args)
print(rss() - before)
"""


def _growth(lowering: str) -> int:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT / "examples" / "mini_attention.mlir"),
                           lowering, str(CALLS)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_many_calls_do_not_grow_rss():
    growth = _growth("attn-to-llvm")
    assert growth < BOUND, f"RSS grew by {growth} bytes over {CALLS} calls"


def test_rss_check_sees_a_leak():
    """The same function lowered without deallocation leaks, and the check notices."""
    growth = _growth("no-dealloc")
    assert growth > BOUND, f"RSS grew by only {growth} bytes without deallocation"
