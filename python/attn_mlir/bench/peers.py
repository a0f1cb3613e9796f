"""One peer timing one workload, in a process of its own.

Run as a script (never imported by the harness): IREE's compiler and
attn-mlir both carry MLIR, and the two cannot share a process, so this file
imports neither at the top and nothing from the attn_mlir package unless the
peer is attn-mlir itself.

    python peers.py PEER DIR THREADS ROUNDS

reads DIR/workload.json and DIR/inputs.npz, writes DIR/PEER.npy (the result,
for the harness to check) and prints one JSON line: the per-call times of
each round, the compile time, and the peer's version.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

MIN_ROUND_S = 2e-3  # tiny workloads repeat calls inside a round to reach this


# ------------------------------------------------------------------ numpy

def _np_softmax(s):
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    return s / s.sum(axis=-1, keepdims=True)


def _np_rotate_half(t):
    half = t.shape[-1] // 2
    return np.concatenate([-t[..., half:], t[..., :half]], axis=-1)


def numpy_fn(kind, p, inputs):
    if kind == "head":
        x, wq, wk, wv = inputs
        scale = np.float32(1.0 / np.sqrt(p["d_k"]))

        def run():
            q, k, v = x @ wq, x @ wk, x @ wv
            return _np_softmax((q @ k.T) * scale) @ v
    elif kind == "mha":
        x, wq, wk, wv, wo, cos, sin = inputs
        s, d, h = p["seq"], p["d_model"], p["heads"]
        scale = np.float32(1.0 / np.sqrt(d // h))

        def run():
            split = lambda t: t.reshape(s, h, d // h).transpose(1, 0, 2)  # noqa: E731
            q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
            q = q * cos + _np_rotate_half(q) * sin
            k = k * cos + _np_rotate_half(k) * sin
            o = _np_softmax((q @ k.transpose(0, 2, 1)) * scale) @ v
            return o.transpose(1, 0, 2).reshape(s, d) @ wo
    else:
        x, wq, wk, wv, kc, vc = inputs
        scale = np.float32(1.0 / np.sqrt(p["d_k"]))

        def run():
            q = x @ wq
            kall = np.concatenate([kc, x @ wk])
            vall = np.concatenate([vc, x @ wv])
            return _np_softmax((q @ kall.T) * scale) @ vall
    return run, 0.0, np.__version__


# ------------------------------------------------------------------ PyTorch

def torch_fn(kind, p, inputs, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    t = [torch.from_numpy(a) for a in inputs]
    if kind == "head":
        x, wq, wk, wv = t

        def run():
            with torch.inference_mode():
                q, k, v = x @ wq, x @ wk, x @ wv
                return F.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    elif kind == "mha":
        x, wq, wk, wv, wo, cos, sin = t
        s, d, h = p["seq"], p["d_model"], p["heads"]

        def rot(a):
            half = a.shape[-1] // 2
            return torch.cat([-a[..., half:], a[..., :half]], dim=-1)

        def run():
            with torch.inference_mode():
                split = lambda a: a.view(s, h, d // h).transpose(0, 1)  # noqa: E731
                q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
                q = q * cos + rot(q) * sin
                k = k * cos + rot(k) * sin
                o = F.scaled_dot_product_attention(q, k, v)
                return o.transpose(0, 1).reshape(s, d) @ wo
    else:
        x, wq, wk, wv, kc, vc = t

        def run():
            with torch.inference_mode():
                q = x @ wq
                kall = torch.cat([kc, x @ wk])
                vall = torch.cat([vc, x @ wv])
                return F.scaled_dot_product_attention(q[None], kall[None], vall[None])[0]
    return (lambda: run().numpy()), 0.0, torch.__version__


# ------------------------------------------------------------------ IREE

def iree_fn(text, inputs, threads):
    import iree.compiler as ireec
    import iree.runtime as ireert

    start = time.perf_counter()
    vmfb = ireec.compile_str(text, target_backends=["llvm-cpu"],
                             extra_args=["--iree-llvmcpu-target-cpu=host"])
    compile_s = time.perf_counter() - start
    ireert.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = ireert.Config("local-task")
    ctx = ireert.SystemContext(config=config)
    ctx.add_vm_module(ireert.VmModule.copy_buffer(ctx.instance, vmfb))
    main = ctx.modules.module["main"]
    device = config.device
    args = [ireert.asdevicearray(device, a) for a in inputs]

    def run():
        return main(*args).to_host()

    version = getattr(ireec, "__version__", None) or _dist_version("iree-base-compiler")
    return run, compile_s, version


# ------------------------------------------------------------------ attn-mlir

def ours_fn(text, threads):
    import attn_mlir as am
    from attn_mlir.allocator import reuse_large_allocations

    # This process only runs our kernels: let their temporaries reuse heap blocks
    # between calls (see allocator.py; a process-wide setting, so opt-in).
    reuse_large_allocations()
    start = time.perf_counter()
    fn = am.compile(text, entry="main", pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    compile_s = time.perf_counter() - start
    return fn, compile_s, _dist_version("attn-mlir")


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def time_calls(call, rounds: int) -> list[float]:
    """Per-call seconds of each round, after a warm-up."""
    for _ in range(2):
        call()
    start = time.perf_counter()
    call()
    once = time.perf_counter() - start
    reps = max(1, int(MIN_ROUND_S / max(once, 1e-9)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            call()
        times.append((time.perf_counter() - start) / reps)
    return times


def main(argv):
    peer, folder, threads, rounds = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    spec = json.loads((folder / "workload.json").read_text())
    data = np.load(folder / "inputs.npz")
    inputs = [data[f"arg{i}"] for i in range(len(data.files))]
    if peer == "numpy":
        run, compile_s, version = numpy_fn(spec["kind"], spec["params"], inputs)
    elif peer == "torch":
        run, compile_s, version = torch_fn(spec["kind"], spec["params"], inputs, threads)
    elif peer == "iree":
        run, compile_s, version = iree_fn(spec["text"], inputs, threads)
    elif peer == "attn-mlir":
        fn, compile_s, version = ours_fn(spec["text"], threads)
        run = lambda: fn(*inputs)  # noqa: E731
    else:
        raise SystemExit(f"unknown peer {peer}")
    np.save(folder / f"{peer}.npy", np.asarray(run(), np.float32))
    times = time_calls(run, rounds)
    print(json.dumps({"times": times, "compile_s": compile_s, "version": version}))


if __name__ == "__main__":
    # numpy's BLAS reads its thread count from the environment at import time:
    # the harness sets OPENBLAS_NUM_THREADS before starting this process.
    main(sys.argv[1:])
