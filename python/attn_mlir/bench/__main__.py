"""`python -m attn_mlir.bench`: attn-mlir against numpy, PyTorch and IREE.

For each workload (bench/workloads.py) the harness writes the MLIR text and
seeded inputs to a scratch folder, then runs every peer in its own process
(bench/peers.py): attn-mlir, numpy always, PyTorch and IREE when installed.
Each result is checked against a float64 numpy reference before its timings
count; a peer that fails or disagrees is reported, not timed. Results go to
`--out` as results.json, results.md (a table) and results.png (a chart).

    python -m attn_mlir.bench [--workloads seed,head512,...|sweep] [--peers numpy,torch,iree]
                              [--rounds N] [--threads N] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .report import write_reports
from .workloads import DEFAULT_WORKLOADS, expand

PEERS_SCRIPT = Path(__file__).resolve().parent / "peers.py"
OURS = "attn-mlir"
ALL_PEERS = ("numpy", "torch", "iree")
# f32 throughput measured on the reference machine (2 cores, AVX-512) with an
# FMA loop; --peak overrides it. One core of that machine reaches ~210 GFLOP/s
# in attn-mlir's own 8x32 micro-kernel, so with both cores free a workload can
# exceed this figure: the table also gives % of numpy's sgemm measured in the
# same run, the fairer yardstick on a shared machine.
DEFAULT_PEAK_GFLOPS = 230.0
RTOL, ATOL = 2e-3, 2e-4


def available(peer: str) -> bool:
    module = {"numpy": "numpy", "torch": "torch", "iree": "iree.compiler"}[peer]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_peer(peer: str, folder: Path, threads: int, rounds: int, timeout: float) -> dict:
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env.pop("OMP_NUM_THREADS", None)
    cmd = [sys.executable, str(PEERS_SCRIPT), peer, str(folder), str(threads), str(rounds)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sgemm_gflops(threads: int) -> float:
    """numpy (OpenBLAS) sgemm throughput on 2048^3, in its own process."""
    code = ("import numpy as np, time\n"
            "a = np.random.rand(2048, 2048).astype(np.float32); b = a.copy(); a @ b\n"
            "t = min((lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()) "
            "for _ in range(5))\n"
            "print(2 * 2048 ** 3 / t / 1e9)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    try:
        return float(out.stdout.strip())
    except ValueError:
        return float("nan")


def machine(threads: int) -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = Path("/proc/cpuinfo").read_text()
        avx512 = " avx512f " in flags
    except OSError:
        avx512 = False
    from ..toolchain import cpu_count

    return {"cpu": cpu, "cores": cpu_count(), "threads": threads, "avx512": avx512,
            "python": platform.python_version(), "system": platform.platform()}


def main(argv=None) -> int:
    from ..toolchain import cpu_count

    ap = argparse.ArgumentParser(prog="python -m attn_mlir.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                    help="comma-separated: seed, head512, head_llama, mha, decode, sweep, sweepN")
    ap.add_argument("--peers", default=",".join(ALL_PEERS),
                    help="comma-separated peers besides attn-mlir (numpy always runs)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="threads for everyone (0: all cores)")
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds, sweep up to 2048, skip head_llama's IREE compile if slow")
    ap.add_argument("--peak", type=float, default=DEFAULT_PEAK_GFLOPS,
                    help="peak GFLOP/s for the %%-of-peak column")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per peer and workload")
    ap.add_argument("--out", default="bench-results")
    args = ap.parse_args(argv)

    threads = args.threads or cpu_count()
    rounds = 3 if args.quick and args.rounds == 10 else args.rounds
    workloads = expand([w.strip() for w in args.workloads.split(",") if w.strip()], args.quick)
    peers = ["numpy"] + [p.strip() for p in args.peers.split(",") if p.strip() and p.strip() != "numpy"]
    for p in peers:
        if p not in ALL_PEERS:
            ap.error(f"unknown peer '{p}' (known: {', '.join(ALL_PEERS)})")
    missing = [p for p in peers if not available(p)]
    peers = [p for p in peers if p not in missing]
    for p in missing:
        print(f"note: peer '{p}' is not installed; skipped", file=sys.stderr)

    info = machine(threads)
    info["peak_gflops"] = args.peak
    print(f"machine: {info['cpu']}, {info['cores']} cores, {threads} threads, "
          f"AVX-512: {info['avx512']}", flush=True)
    info["sgemm_gflops"] = sgemm_gflops(threads)
    print(f"numpy sgemm 2048^3: {info['sgemm_gflops']:.1f} GFLOP/s", flush=True)

    results = []
    total = len(workloads) * (len(peers) + 1)
    step = 0
    started = time.perf_counter()
    for w in workloads:
        inputs = w.inputs()
        expected = w.reference(inputs)
        row = {"workload": w.name, "kind": w.kind, "params": w.params, "flops": w.flops,
               "peers": {}}
        with tempfile.TemporaryDirectory(prefix="attn-bench-") as tmp:
            folder = Path(tmp)
            (folder / "workload.json").write_text(json.dumps(
                {"name": w.name, "kind": w.kind, "params": w.params, "text": w.text}))
            np.savez(folder / "inputs.npz", **{f"arg{i}": a for i, a in enumerate(inputs)})
            for peer in [OURS] + peers:
                step += 1
                print(f"[{step}/{total} {time.perf_counter() - started:6.1f}s] {w.name}: {peer} ...",
                      end="", flush=True)
                res = run_peer(peer, folder, threads, rounds, args.timeout)
                if "error" not in res:
                    got = np.load(folder / f"{peer}.npy")
                    if got.shape != expected.shape or not np.allclose(got, expected, rtol=RTOL,
                                                                      atol=ATOL):
                        err = float(np.max(np.abs(got - expected))) if got.shape == expected.shape \
                            else float("nan")
                        res = {"error": f"wrong result (max abs error {err:.3g})"}
                if "error" in res:
                    print(f" FAILED: {res['error']}", flush=True)
                else:
                    t = np.array(res.pop("times"))
                    res.update(median_s=float(np.median(t)), min_s=float(t.min()),
                               rounds=len(t), gflops=w.flops / float(np.median(t)) / 1e9)
                    res["peak_pct"] = 100.0 * res["gflops"] / args.peak
                    res["sgemm_pct"] = 100.0 * res["gflops"] / info["sgemm_gflops"]
                    print(f" median {res['median_s'] * 1e3:.3f} ms, {res['gflops']:.1f} GFLOP/s"
                          + (f", compile {res['compile_s']:.2f} s" if res.get("compile_s") else ""),
                          flush=True)
                row["peers"][peer] = res
        ours = row["peers"].get(OURS, {})
        others = [r["median_s"] for p, r in row["peers"].items() if p != OURS and "median_s" in r]
        if "median_s" in ours and others:
            row["best_peer"] = min((r["median_s"], p) for p, r in row["peers"].items()
                                   if p != OURS and "median_s" in r)[1]
            row["ratio_to_best_peer"] = ours["median_s"] / min(others)
        results.append(row)

    out = Path(args.out)
    write_reports(out, {"machine": info, "rounds": rounds, "workloads": results})
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
