"""Compiled functions do not leak: every internal buffer is freed, results are caller-owned.

`attn-to-llvm` frees internal buffers (`buffer-deallocation-pipeline`) and
turns results into out-parameters (`buffer-results-to-out-params`), so a
call allocates nothing that outlives it. The process's resident set size
(from /proc/self/statm) must stay flat over many calls.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.pipeline import Pipeline, make_pass

ROOT = Path(__file__).resolve().parents[2]
MINI = (ROOT / "examples" / "mini_attention.mlir").read_text()
CALLS = 10_000
# malloc and numpy keep some slack; a leak of the 4x8 head's buffers is ~800 bytes a call.
BOUND = 1 << 20

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(fn) -> int:
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]
    for _ in range(500):  # warm-up: allocator pools, numpy caches
        fn(*args)
    before = _rss()
    for _ in range(CALLS):
        fn(*args)
    return _rss() - before


def test_many_calls_do_not_grow_rss():
    growth = _growth(am.compile(MINI))
    assert growth < BOUND, f"RSS grew by {growth} bytes over {CALLS} calls"


def test_rss_check_sees_a_leak():
    """The same function lowered without deallocation leaks, and the check notices."""
    items = [p for p in make_pass("attn-to-llvm").expand() if p != "buffer-deallocation-pipeline"]
    growth = _growth(am.compile(MINI, pipeline=Pipeline(items)))
    assert growth > BOUND, f"RSS grew by only {growth} bytes without deallocation"
