"""Compiled functions do not leak and do not allocate per call.

`attn-to-llvm` places static temporaries in a workspace planned at compile
time (`attn-plan-memory`), frees other internal buffers (`buffer-deallocation-pipeline`) and
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
                         if str(p).split("{")[0] not in ("attn-plan-memory", "buffer-deallocation-pipeline")])
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
    """The same function lowered without its workspace and without deallocation
    leaks, and the check notices."""
    growth = _growth("no-dealloc")
    assert growth > BOUND, f"RSS grew by only {growth} bytes without deallocation"


# Two 2 MiB temporaries between three matmuls; the result is small (64 KiB), so
# numpy's own result allocation stays off mmap.
CHAIN = """
func.func @main(%x: tensor<1024x512xf32>, %w1: tensor<512x512xf32>, %w2: tensor<512x512xf32>,
                %w3: tensor<512x16xf32>) -> tensor<1024x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1024x512xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1024x512xf32>) -> tensor<1024x512xf32>
  %t1 = linalg.matmul ins(%x, %w1 : tensor<1024x512xf32>, tensor<512x512xf32>) outs(%z : tensor<1024x512xf32>) -> tensor<1024x512xf32>
  %t2 = linalg.matmul ins(%t1, %w2 : tensor<1024x512xf32>, tensor<512x512xf32>) outs(%z : tensor<1024x512xf32>) -> tensor<1024x512xf32>
  %eo = tensor.empty() : tensor<1024x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1024x16xf32>) -> tensor<1024x16xf32>
  %o = linalg.matmul ins(%t2, %w3 : tensor<1024x512xf32>, tensor<512x16xf32>) outs(%zo : tensor<1024x16xf32>) -> tensor<1024x16xf32>
  return %o : tensor<1024x16xf32>
}
"""

FAULTS = """
import resource, sys
import numpy as np
import attn_mlir as am
from attn_mlir.pipeline import Pipeline, make_pass

pipeline = "builtin.module(attn-to-llvm{threads=1})"
if sys.argv[2] == "no-plan":
    pipeline = Pipeline([p for p in make_pass("attn-to-llvm", {"threads": 1}).expand()
                         if str(p).split("{")[0] != "attn-plan-memory"])
fn = am.compile(sys.argv[1], pipeline=pipeline)
rng = np.random.default_rng(0)
x, w1, w2, w3 = (rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs)
want = ((x.astype(np.float64) @ w1) @ w2) @ w3
for _ in range(2):
    out = fn(x, w1, w2, w3)
np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    fn(x, w1, w2, w3)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_call(lowering: str) -> float:
    # A fixed mmap threshold: glibc serves every large block with a fresh mmap,
    # as it does in a fresh process before any large free has raised it.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(128 << 10))
    done = subprocess.run([sys.executable, "-c", FAULTS, CHAIN, lowering], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip())


def test_calls_do_not_fault_with_a_planned_workspace():
    """Temporaries live in the compiled function's workspace: after the first call,
    a call touches no new page (2 MiB temporaries would be 512 faults each)."""
    faults = _faults_per_call("attn-to-llvm")
    assert faults < 8, f"{faults} minor page faults per call"


def test_fault_check_sees_per_call_allocations():
    """Without the workspace the same function mallocs its temporaries on every
    call, and the page-fault count shows it."""
    faults = _faults_per_call("no-plan")
    assert faults > 256, f"only {faults} minor page faults per call without a workspace"


def test_planned_offsets_never_share_live_bytes():
    """Random lifetimes: buffers live at the same time get disjoint, aligned byte
    ranges inside the workspace; buffers that never meet may share."""
    import numpy as np

    from attn_mlir.lowering.memory_plan import ALIGNMENT, Buffer, plan_offsets

    rng = np.random.default_rng(0)
    for _ in range(200):
        buffers = []
        for _ in range(int(rng.integers(1, 12))):
            start = int(rng.integers(0, 20))
            buffers.append(Buffer(int(rng.integers(1, 5000)), start, start + int(rng.integers(0, 8))))
        offsets, total = plan_offsets(buffers)
        assert total % ALIGNMENT == 0
        for i, (a, oa) in enumerate(zip(buffers, offsets)):
            assert oa % ALIGNMENT == 0 and oa + a.size <= total
            for b, ob in zip(buffers[i + 1:], offsets[i + 1:]):
                if a.start <= b.end and b.start <= a.end:
                    assert oa + a.size <= ob or ob + b.size <= oa, (a, oa, b, ob)
        assert total <= sum(-(-b.size // ALIGNMENT) * ALIGNMENT for b in buffers)


def test_concurrent_calls_share_the_workspace_safely():
    """Calls of one compiled function from several threads each get their own
    right answer (the workspace is used by one call at a time)."""
    import threading

    import numpy as np

    import attn_mlir as am

    fn = am.compile(CHAIN, pipeline="builtin.module(attn-to-llvm{threads=1})")
    rng = np.random.default_rng(1)
    cases = []
    for _ in range(4):
        x, w1, w2, w3 = (rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs)
        cases.append(((x, w1, w2, w3), ((x.astype(np.float64) @ w1) @ w2) @ w3))
    failures = []

    def work(args, want):
        for _ in range(3):
            got = fn(*args)
            if not np.allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max()):
                failures.append(float(np.abs(got - want).max()))

    threads = [threading.Thread(target=work, args=case) for case in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
