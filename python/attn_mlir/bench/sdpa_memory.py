"""Peak memory of one attention head: fused online-softmax kernel vs the naive chain.

    python -m attn_mlir.bench.sdpa_memory                 # seq 8192, d 64 (takes minutes)
    python -m attn_mlir.bench.sdpa_memory --seq 1024 --json

The head is written as linalg (Q K^T with a transposed K, scale, linalg.softmax,
matmul with V; Q, K, V are arguments), so every variant starts from the same IR:

  fused    attn-to-llvm{max-score-bytes=0} (raises to attn.sdpa, lowers to the tiled
           online-softmax kernel; the default does so for scores above 256 KiB)
  naive    attn-raise, attn-lower{naive}, attn-to-llvm{raise=false} (matmul/softmax/matmul)
  linalg   attn-to-llvm{raise=false}: the input chain as written

Each variant runs in its own subprocess, which reports its peak resident set
(`ru_maxrss`) after compiling and after one call, and the call's own peak: the
kernel's high-water mark (VmHWM, reset through /proc/self/clear_refs just
before the call) above the resident set just before it, plus the function's workspace (its temporaries, planned and
allocated when it is compiled). The seq x seq f32 score matrix is
seq * seq * 4 bytes (256 MiB at seq 8192).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from .workloads import attention_core, tensor_t

PIPELINES = {
    "fused": "builtin.module(attn-to-llvm{max-score-bytes=0})",
    "naive": "builtin.module(attn-raise, attn-lower{naive}, attn-to-llvm{raise=false})",
    "linalg": "builtin.module(attn-to-llvm{raise=false})",
}


def head_mlir(seq: int, d: int) -> str:
    """One attention head in linalg: softmax(Q K^T / sqrt(d)) V."""
    t = tensor_t(seq, d)
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @head(%q: {t}, %k: {t}, %v: {t}) -> {t} {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant {1.0 / d ** 0.5} : f32
  %eo = tensor.empty() : {t}
  %zo = linalg.fill ins(%zero : f32) outs(%eo : {t}) -> {t}
{attention_core(seq, d, "%zo")}  return %o : {t}
}}
"""


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_variant(variant: str, seq: int, d: int, check: bool) -> dict:
    """Compile and run one variant in this process; returns its measurements."""
    import numpy as np

    import attn_mlir as am

    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((seq, d)).astype(np.float32) for _ in range(3))
    start = time.perf_counter()
    fn = am.compile(head_mlir(seq, d), entry="head", pipeline=PIPELINES[variant])
    compiled = time.perf_counter()
    after_compile = _peak_mib()
    # The call's own peak: reset the high-water mark to the resident set just before
    # it (so compile-time peaks do not hide it), read the mark after it.
    reset = _reset_peak()
    before = _status_mib("VmRSS") if reset else after_compile
    out = fn(q, k, v)
    ran = time.perf_counter()
    call_peak = (_status_mib("VmHWM") if reset else _peak_mib()) - before
    result = {"variant": variant, "seq": seq, "d": d,
              "compile_s": round(compiled - start, 2), "run_s": round(ran - compiled, 2),
              "peak_rss_after_compile_mib": round(after_compile, 1),
              "peak_rss_mib": round(_peak_mib(), 1),
              "call_peak_mib": round(max(call_peak, 0.0), 1),
              # Temporaries live in the function's workspace, resident from compile time.
              "workspace_mib": round(fn.workspace_bytes / 2**20, 1)}
    if check:
        from attn_mlir.reference import sdpa

        rows = slice(0, min(seq, 64))  # a few rows against float64 numpy
        want = sdpa(q[rows], k, v, scale=1.0 / d ** 0.5)
        result["max_abs_error"] = float(np.abs(out[rows] - want).max())
    return result


def measure(variant: str, seq: int, d: int, check: bool = True, timeout: float | None = None) -> dict:
    """Run one variant in a fresh subprocess (so peak RSS is its own)."""
    cmd = [sys.executable, "-m", "attn_mlir.bench.sdpa_memory", "--child", variant,
           "--seq", str(seq), "--d", str(d)] + ([] if check else ["--no-check"])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq", type=int, default=8192)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--variants", default="fused,naive", help="comma list of: " + ", ".join(PIPELINES))
    p.add_argument("--json", action="store_true", help="print one JSON object per variant")
    p.add_argument("--no-check", dest="check", action="store_false")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_variant(args.child, args.seq, args.d, args.check)))
        return 0
    scores_mib = args.seq * args.seq * 4 / 2**20
    if not args.json:
        print(f"seq {args.seq}, d {args.d}: one seq x seq f32 score matrix = {scores_mib:.0f} MiB")
    for variant in args.variants.split(","):
        r = measure(variant.strip(), args.seq, args.d, args.check)
        if args.json:
            print(json.dumps(r))
        else:
            err = f", max |error| {r['max_abs_error']:.1e}" if "max_abs_error" in r else ""
            print(f"{variant:7s} peak RSS {r['peak_rss_mib']:8.1f} MiB (after compile "
                  f"{r['peak_rss_after_compile_mib']:.1f} MiB; the call adds "
                  f"{r['call_peak_mib']:.1f} MiB; workspace {r['workspace_mib']:.1f} MiB); "
                  f"compile {r['compile_s']} s, "
                  f"run {r['run_s']} s{err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
