"""`python -m attn_mlir.bench`: attn-mlir against the CPU peers, measured honestly.

For each workload (bench/workloads.py) the harness writes the MLIR text, seeded
inputs and constant weights to a scratch folder, then starts every peer in a
fresh process of its own (bench/peers.py), one after the other: attn-mlir,
numpy (with the OpenBLAS CPU overrides removed from its environment only),
onnxruntime and OpenVINO (bench/onnx_graphs.py), PyTorch, JAX and IREE when
present. Each result is checked against a float64 numpy reference before its
timings count; a peer that fails or disagrees is reported, not timed. The
first call is timed on its own (a user's first call), then the harness
interleaves the timed rounds of all peers (round 1 of every peer, round 2, ...,
in a seeded random order each round) and flags rounds in which other processes
used the CPU. The peak comes from a C FMA microbenchmark run first
(bench/peak.py). Results go to `--out` as results.json, results.md (a table)
and results.png (a chart).

    python -m attn_mlir.bench [--workloads seed,head512,...|sweep] [--peers numpy,ort-plain,...]
                              [--rounds N] [--threads N] [--quick] [--out DIR]
                              [--jax-python PY] [--torch-python PY]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .peers import settle
from .report import write_reports
from .workloads import DEFAULT_WORKLOADS, expand

HERE = Path(__file__).resolve().parent
PEERS_SCRIPT = HERE / "peers.py"
OURS = "attn-mlir"
ALL_PEERS = ("numpy", "ort-plain", "ort-mha", "ort-attn23", "ov-f32-plain", "ov-f32-mha", "ov-f32-attn23",
             "ov-default-plain", "jax-np", "jax-dpa", "torch", "iree", "iree-o3")
# A peer whose arithmetic is not f32 (OpenVINO's default picks bf16 on CPUs that
# have it): reported in its own column, never counted as the best f32 peer.
NOT_F32 = ("ov-default-plain",)
RTOL, ATOL = 2e-3, 2e-4
LOOSE_RTOL, LOOSE_ATOL = 5e-2, 5e-2  # reduced-precision peers: a sanity check only
OTHER_CPU_FLAG = 0.05  # flag a round when others used more than this share of the machine
def _has(module: str, python: str | None = None) -> bool:
    if python is None:
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec('{module}') is None)"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def peer_python(peer: str, args) -> tuple[str | None, str]:
    """The interpreter that runs `peer`, or None and the reason it is skipped."""
    if peer.startswith("jax-"):
        py = args.jax_python or os.environ.get("ATTN_BENCH_JAX_PYTHON")
        if not py:
            return None, ("no Python with jax given (jax needs Python >= 3.12: --jax-python or "
                          "ATTN_BENCH_JAX_PYTHON)")
        return (py, "") if _has("jax", py) else (None, f"jax is not importable by {py}")
    if peer == "torch":
        py = args.torch_python or os.environ.get("ATTN_BENCH_TORCH_PYTHON") or sys.executable
        return (py, "") if _has("torch", py) else (None, f"torch is not importable by {py}")
    module = {"numpy": "threadpoolctl"}.get(peer)
    if peer.startswith("iree"):
        module = "iree.compiler"
    elif peer.startswith("ort-"):
        module = "onnxruntime"
    elif peer.startswith("ov-"):
        module = "openvino"
    if module and not _has(module):
        return None, f"{module} is not installed"
    if peer.startswith(("ort-", "ov-")) and not _has("onnx"):
        return None, "onnx is not installed"
    return sys.executable, ""


def peer_env(peer: str, threads: int) -> dict:
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env.pop("OMP_NUM_THREADS", None)
    if peer == "numpy":
        # The machine pins OpenBLAS to Haswell kernels for other programs' sake;
        # the numpy peer gets the kernels OpenBLAS picks for this CPU.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


class Worker:
    """One peer's process: started, built, first call, then rounds on request."""

    def __init__(self, peer, python, folder, threads, reuse, timeout):
        cmd = [python, str(PEERS_SCRIPT), peer, str(folder), str(threads)]
        if reuse:
            cmd.append("--reuse-allocations")
        self.peer, self.timeout = peer, timeout
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=peer_env(peer, threads))

    def reply(self) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.proc.kill()
            raise RuntimeError(f"timed out after {self.timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            tail = self.proc.stderr.read().strip().splitlines()[-3:]
            raise RuntimeError(f"exit {self.proc.returncode}: " + " | ".join(tail))
        return json.loads(line)

    def send(self, cmd: str) -> dict:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.reply()

    def close(self) -> dict:
        try:
            return self.send("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            return {}
        finally:
            self.proc.kill()
            self.proc.wait()


def check(got: np.ndarray, expected: np.ndarray, loose: bool) -> str | None:
    if got.size != expected.size:
        return f"wrong result shape {got.shape}, expected {expected.shape}"
    got = got.reshape(expected.shape)
    rtol, atol = (LOOSE_RTOL, LOOSE_ATOL) if loose else (RTOL, ATOL)
    err = float(np.max(np.abs(got - expected)))
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        return f"wrong result (max abs error {err:.3g})"
    return None


def machine(threads: int) -> dict:
    from ..toolchain import cpu_count

    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((ln.split(":", 1)[1].strip() for ln in text.splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": cpu_count(), "threads": threads, "avx512": " avx512f " in text,
            "python": platform.python_version(), "system": platform.platform()}


def numpy_kernel(threads: int) -> str:
    """threadpoolctl's view of the numpy peer's BLAS (in the numpy peer's environment)."""
    code = ("from threadpoolctl import threadpool_info\n"
            "print('; '.join(f\"{i.get('internal_api')} {i.get('version')} architecture "
            "{i.get('architecture')}\" for i in threadpool_info() if i.get('user_api') == 'blas'))")
    out = subprocess.run([sys.executable, "-c", "import numpy\n" + code], capture_output=True,
                         text=True, env=peer_env("numpy", threads))
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-200:]})"


def round_order(peers: list, r: int) -> list:
    """The peers in the order of round `r`: shuffled anew each round (seeded by the
    round, so runs repeat), so that no peer is always measured right after the same
    one, whose thread pool may still be winding down (`settle` waits at most 2 s)."""
    return random.Random(1000 + r).sample(peers, len(peers))


def run_workload(w, peers, pythons, threads, rounds, args) -> dict:
    inputs = w.inputs()
    expected = w.reference(inputs)
    row = {"workload": w.name, "kind": w.kind, "params": w.params, "flops": w.flops, "peers": {}}
    with tempfile.TemporaryDirectory(prefix="attn-bench-") as tmp:
        folder = Path(tmp)
        (folder / "workload.json").write_text(json.dumps(
            {"name": w.name, "kind": w.kind, "params": w.params, "text": w.text, "entry": w.entry}))
        np.savez(folder / "inputs.npz", **{f"arg{i}": a for i, a in enumerate(inputs)})
        consts = w.constants()
        if consts:
            np.savez(folder / "consts.npz", **{f"c{i}": a for i, a in enumerate(consts)})
        workers = {}
        for peer in [OURS] + peers:
            print(f"  {w.name}: {peer} ...", end="", flush=True)
            res = {}
            worker = Worker(peer, pythons[peer], folder, threads, args.reuse_allocations,
                            args.timeout)
            try:
                res = worker.reply()
                err = check(np.load(folder / f"{peer}.npy"), expected, peer in NOT_F32)
                if err:
                    res["error"] = err
            except (RuntimeError, ValueError, OSError) as e:
                res = {"error": str(e)}
            if "error" in res:
                print(f" FAILED: {res['error']}", flush=True)
                worker.close()
            else:
                print(f" compile {res['compile_s']:.2f} s, first call "
                      f"{res['first_call_s'] * 1e3:.3f} ms", flush=True)
                workers[peer] = worker
            row["peers"][peer] = res
            settle()
        times = {p: [] for p in workers}
        others = {p: [] for p in workers}
        for round_index in range(rounds):
            for peer in round_order(list(workers), round_index):
                worker = workers[peer]
                try:
                    r = worker.send("round")
                except (RuntimeError, BrokenPipeError, ValueError) as e:
                    row["peers"][peer]["error"] = f"died during timing: {e}"
                    del workers[peer]
                    continue
                times[peer].append(r["t"])
                others[peer].append(r["other_cpu"])
                if len(workers) > 1:
                    settle()
        for peer, worker in workers.items():
            res = row["peers"][peer]
            res.update(worker.close())
            t = np.array(times[peer])
            if len(t) == 0:
                continue
            res.update(median_s=float(np.median(t)), min_s=float(t.min()), rounds=len(t),
                       gflops=w.flops / float(np.median(t)) / 1e9,
                       gbps=w.bytes / float(np.median(t)) / 1e9,
                       other_cpu_max=float(max(others[peer])),
                       disturbed_rounds=int(sum(o > OTHER_CPU_FLAG for o in others[peer])))
    f32 = [(r["median_s"], p) for p, r in row["peers"].items()
           if p != OURS and p not in NOT_F32 and "median_s" in r]
    ours = row["peers"].get(OURS, {})
    if "median_s" in ours and f32:
        best_t, best = min(f32)
        row["best_peer"], row["ratio_to_best_peer"] = best, ours["median_s"] / best_t
    return row


def main(argv=None) -> int:
    from ..toolchain import cpu_count
    from .peak import measure_peak

    ap = argparse.ArgumentParser(prog="python -m attn_mlir.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                    help="comma-separated: seed, head512, head_llama, mha, decode, llama_attn, "
                         "sweep, sweepN")
    ap.add_argument("--peers", default=",".join(ALL_PEERS),
                    help=f"comma-separated peers besides attn-mlir (known: {', '.join(ALL_PEERS)})")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="threads for everyone (0: all cores)")
    ap.add_argument("--quick", action="store_true", help="3 rounds, sweep up to 2048")
    ap.add_argument("--peak", type=float, default=0.0,
                    help="peak GFLOP/s for the %% column (default: measured by bench/peak.py)")
    ap.add_argument("--jax-python", help="a Python >= 3.12 with jax (or ATTN_BENCH_JAX_PYTHON)")
    ap.add_argument("--torch-python", help="a Python with torch (or ATTN_BENCH_TORCH_PYTHON)")
    ap.add_argument("--reuse-allocations", action="store_true",
                    help="call attn_mlir.allocator.reuse_large_allocations() in our worker "
                         "(process-wide malloc tuning; off: what a user gets by default)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds a peer may take to build, or to answer one round")
    ap.add_argument("--out", default="bench-results")
    args = ap.parse_args(argv)

    threads = args.threads or cpu_count()
    rounds = 3 if args.quick and args.rounds == 7 else args.rounds
    workloads = expand([w.strip() for w in args.workloads.split(",") if w.strip()], args.quick)
    peers, pythons, skipped = [], {OURS: sys.executable}, {}
    for p in [p.strip() for p in args.peers.split(",") if p.strip()]:
        if p not in ALL_PEERS:
            ap.error(f"unknown peer '{p}' (known: {', '.join(ALL_PEERS)})")
        py, why = peer_python(p, args)
        if py is None:
            skipped[p] = why
            print(f"note: peer '{p}' skipped: {why}", file=sys.stderr)
        else:
            peers.append(p)
            pythons[p] = py

    started = time.perf_counter()
    info = machine(threads)
    print(f"machine: {info['cpu']}, {info['cores']} cores, {threads} threads, "
          f"AVX-512: {info['avx512']}", flush=True)
    peak = measure_peak(threads)
    info["peak"] = peak
    info["peak_gflops"] = args.peak or peak.get("gflops_threads", float("nan"))
    info["peak_source"] = "--peak" if args.peak else peak.get("source", "?")
    print(f"peak: {info['peak_gflops']:.0f} GFLOP/s on {threads} threads ({info['peak_source']})",
          flush=True)
    info["numpy_kernel"] = numpy_kernel(threads)
    print(f"numpy peer BLAS: {info['numpy_kernel']}", flush=True)
    info["skipped_peers"] = skipped

    results = []
    for i, w in enumerate(workloads):
        print(f"[{i + 1}/{len(workloads)} {time.perf_counter() - started:6.1f}s] {w.name}", flush=True)
        row = run_workload(w, peers, pythons, threads, rounds, args)
        for p, r in row["peers"].items():
            if "median_s" in r:
                flag = f"  (other processes used up to {100 * r['other_cpu_max']:.0f}% of the CPU)" \
                    if r["disturbed_rounds"] else ""
                print(f"    {p:18s} median {r['median_s'] * 1e3:9.3f} ms  min "
                      f"{r['min_s'] * 1e3:9.3f} ms{flag}", flush=True)
        if "ratio_to_best_peer" in row:
            print(f"    ours / best f32 peer ({row['best_peer']}): {row['ratio_to_best_peer']:.2f}x",
                  flush=True)
        results.append(row)

    out = Path(args.out)
    total = time.perf_counter() - started
    write_reports(out, {"machine": info, "rounds": rounds, "total_s": total,
                        "workloads": results})
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'results.png'} "
          f"({total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
