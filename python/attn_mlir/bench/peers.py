"""One peer running one workload, in a fresh process of its own.

Run as a script by the harness (never imported by it): IREE's compiler and
attn-mlir both carry MLIR and cannot share a process, and the JAX peer runs
under another Python (a 3.12 venv), so this file imports only numpy at the
top and nothing from the attn_mlir package unless the peer is attn-mlir.

    python peers.py PEER DIR THREADS

reads DIR/workload.json, DIR/inputs.npz (and DIR/consts.npz: constant
weights, for workloads that have them), builds the peer (timed: compile_s),
makes the first call (timed: first_call_s), writes the result to DIR/PEER.npy
and prints one JSON line. It then serves the harness over stdin/stdout, one
JSON line per command, so that the harness can interleave rounds of all peers:
`round` times one round (returns per-call seconds and the share of the
machine's CPU time that other processes used meanwhile), `quit` reports the
peak resident set and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

MIN_ROUND_S = 0.05  # tiny workloads repeat calls inside a round to reach this


# ------------------------------------------------------------------ arrays

def peer_arrays(kind, params, inputs, consts):
    """(math kind, arrays, indices of constant arrays): the Llama `layer` is
    `mha` with weights [in, out] and cos/sin given as constants."""
    if kind == "layer":
        s, e = params["seq"], params["d_model"]
        arrays = [inputs[0].reshape(s, e)] + consts
        return "mha", arrays, tuple(range(1, len(arrays)))
    return kind, inputs + consts, tuple(range(len(inputs), len(inputs) + len(consts)))


# ------------------------------------------------------------------ numpy

def _np_softmax(s):
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    return s / s.sum(axis=-1, keepdims=True)


def _rotate_half(xp, t):
    half = t.shape[-1] // 2
    return xp.concatenate([-t[..., half:], t[..., :half]], axis=-1)


def math_fn(xp, softmax, kind, p):
    """The workload as numpy-style code over the array module `xp`."""
    if kind in ("decoder", "decoder_step"):
        from decoder_math import math

        return math(xp, softmax, p)
    if kind == "head":
        scale = np.float32(1.0 / np.sqrt(p["d_k"]))

        def fn(x, wq, wk, wv):
            q, k, v = x @ wq, x @ wk, x @ wv
            return softmax((q @ k.T) * scale) @ v
    elif kind == "mha":
        s, d, h = p["seq"], p["d_model"], p["heads"]
        scale = np.float32(1.0 / np.sqrt(d // h))

        def fn(x, wq, wk, wv, wo, cos, sin):
            split = lambda t: t.reshape(s, h, d // h).transpose(1, 0, 2)  # noqa: E731
            q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
            q = q * cos + _rotate_half(xp, q) * sin
            k = k * cos + _rotate_half(xp, k) * sin
            o = softmax((q @ k.transpose(0, 2, 1)) * scale) @ v
            return o.transpose(1, 0, 2).reshape(s, d) @ wo
    else:
        scale = np.float32(1.0 / np.sqrt(p["d_k"]))

        def fn(x, wq, wk, wv, kc, vc):
            q = x @ wq
            kall = xp.concatenate([kc, x @ wk])
            vall = xp.concatenate([vc, x @ wv])
            return softmax((q @ kall.T) * scale) @ vall
    return fn


def numpy_peer(kind, p, arrays, consts, threads):
    from threadpoolctl import threadpool_info

    fn = math_fn(np, _np_softmax, kind, p)
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
            f"{i.get('num_threads')} threads" for i in threadpool_info() if i.get("user_api") == "blas"]
    return (lambda: fn(*arrays)), 0.0, np.__version__, "; ".join(blas) or "no BLAS found"


# ------------------------------------------------------------------ PyTorch

def torch_peer(kind, p, arrays, consts, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    t = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    if kind in ("decoder", "decoder_step"):
        run = _torch_decoder(torch, F, p, t)
    elif kind == "head":
        x, wq, wk, wv = t

        def run():
            q, k, v = x @ wq, x @ wk, x @ wv
            return F.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    elif kind == "mha":
        x, wq, wk, wv, wo, cos, sin = t
        s, d, h = p["seq"], p["d_model"], p["heads"]

        def rot(a):
            half = a.shape[-1] // 2
            return torch.cat([-a[..., half:], a[..., :half]], dim=-1)

        def run():
            split = lambda a: a.view(s, h, d // h).transpose(0, 1)  # noqa: E731
            q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            o = F.scaled_dot_product_attention(q, k, v)
            return o.transpose(0, 1).reshape(s, d) @ wo
    else:
        x, wq, wk, wv, kc, vc = t

        def run():
            q = x @ wq
            kall = torch.cat([kc, x @ wk])
            vall = torch.cat([vc, x @ wv])
            return F.scaled_dot_product_attention(q[None], kall[None], vall[None])[0]

    def call():
        with torch.inference_mode():
            return run().numpy()
    return call, 0.0, torch.__version__, f"torch SDPA, {torch.get_num_threads()} threads"


def _torch_decoder(torch, F, p, t):
    """The Llama layer of bench/decoder_math.py in PyTorch's fused ops: F.rms_norm,
    SDPA (causal for prefill; over cache + new key for a decode step), F.silu."""
    s, e, h = p["seq"], p["hidden"], p["heads"]
    hd = e // h
    x, *rest = t
    cache = rest[:len(rest) - 11]
    g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin = rest[len(cache):]
    from decoder_math import EPS

    def rope(a):
        half = hd // 2
        return a * cos + torch.cat([-a[..., half:], a[..., :half]], dim=-1) * sin

    def run():
        split = lambda a: a.view(s, h, hd).transpose(0, 1)  # noqa: E731
        xn = F.rms_norm(x, (e,), g1, EPS)
        q, k, v = rope(split(xn @ wq)), rope(split(xn @ wk)), split(xn @ wv)
        if cache:
            k, v = torch.cat([cache[0], k], dim=1), torch.cat([cache[1], v], dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=not cache)
        hres = x + o.transpose(0, 1).reshape(s, e) @ wo
        hn = F.rms_norm(hres, (e,), g2, EPS)
        return hres + (F.silu(hn @ wg) * (hn @ wu)) @ wd
    return run


# ------------------------------------------------------------------ onnxruntime, OpenVINO

def ort_peer(form, kind, p, arrays, consts, threads):
    import onnxruntime as ort

    from onnx_graphs import build

    start = time.perf_counter()
    model = build(kind, form, arrays, p, consts)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    compile_s = time.perf_counter() - start
    feed = {f"arg{i}": np.ascontiguousarray(a) for i, a in enumerate(arrays) if i not in consts}
    return (lambda: sess.run(None, feed)[0]), compile_s, ort.__version__, \
        f"{form} graph, intra-op {threads}, ORT_ENABLE_ALL"


def ov_peer(form, precision, kind, p, arrays, consts, threads):
    import openvino as ov

    from onnx_graphs import build

    start = time.perf_counter()
    model = build(kind, form, arrays, p, consts)
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if precision == "f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(core.read_model(model), "CPU", config)
    compile_s = time.perf_counter() - start
    req = compiled.create_infer_request()
    feed = [np.ascontiguousarray(a) for i, a in enumerate(arrays) if i not in consts]
    got = compiled.get_property("INFERENCE_PRECISION_HINT")

    def run():
        req.infer(feed, share_inputs=True)
        return req.get_output_tensor(0).data.copy()
    return run, compile_s, ov.get_version(), \
        f"{form} graph, precision {got}, {threads} threads, latency hint"


# ------------------------------------------------------------------ JAX

def jax_peer(form, kind, p, arrays, consts, threads):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", False)
    if form == "dpa" and kind not in ("head", "mha", "decode"):
        raise SystemExit(f"no jax.nn.dot_product_attention version of the '{kind}' workload")
    if form == "np":
        core = math_fn(jnp, lambda s: jax.nn.softmax(s, axis=-1), kind, p)
    else:
        core = _jax_dpa(jax, jnp, kind, p)
    const_vals = {i: jnp.asarray(a) for i, a in enumerate(arrays) if i in consts}
    var_idx = [i for i in range(len(arrays)) if i not in consts]

    def fn(*vs):
        full = dict(const_vals)
        full.update(zip(var_idx, vs))
        return core(*[full[i] for i in range(len(arrays))])
    jitted = jax.jit(fn)
    args = [jnp.asarray(arrays[i]) for i in var_idx]
    start = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    compile_s = time.perf_counter() - start
    return (lambda: np.asarray(compiled(*args))), compile_s, jax.__version__, \
        f"jax.jit ({'numpy-style' if form == 'np' else 'jax.nn.dot_product_attention'}), XLA CPU"


def _jax_dpa(jax, jnp, kind, p):
    dpa = jax.nn.dot_product_attention
    if kind == "head":
        def fn(x, wq, wk, wv):
            q, k, v = x @ wq, x @ wk, x @ wv
            return dpa(q[None, :, None], k[None, :, None], v[None, :, None])[0, :, 0]
    elif kind == "mha":
        s, d, h = p["seq"], p["d_model"], p["heads"]

        def fn(x, wq, wk, wv, wo, cos, sin):
            split = lambda t: t.reshape(s, h, d // h)  # noqa: E731
            q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
            c, sn = cos[:, None], sin[:, None]
            q = q * c + _rotate_half(jnp, q) * sn
            k = k * c + _rotate_half(jnp, k) * sn
            return dpa(q[None], k[None], v[None])[0].reshape(s, d) @ wo
    else:
        def fn(x, wq, wk, wv, kc, vc):
            q = x @ wq
            kall = jnp.concatenate([kc, x @ wk])
            vall = jnp.concatenate([vc, x @ wv])
            return dpa(q[None, :, None], kall[None, :, None], vall[None, :, None])[0, :, 0]
    return fn


# ------------------------------------------------------------------ IREE

# IREE's flags: its defaults (iree-opt-level O0) and O3 with its CPU micro-kernels.
# Neither wins everywhere (2 threads, this project's Zen 3: mha 127 ms at the
# defaults against 156 at O3; head512 2.4 against 2.2 ms), so both run.
IREE_FLAGS = {"iree": [], "iree-o3": ["--iree-opt-level=O3", "--iree-llvmcpu-enable-ukernels=all"]}


def iree_peer(text, entry, arrays, threads, flags=()):
    import iree.compiler as ireec
    import iree.runtime as ireert

    start = time.perf_counter()
    vmfb = ireec.compile_str(text, target_backends=["llvm-cpu"],
                             extra_args=["--iree-llvmcpu-target-cpu=host", *flags])
    compile_s = time.perf_counter() - start
    ireert.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = ireert.Config("local-task")
    ctx = ireert.SystemContext(config=config)
    ctx.add_vm_module(ireert.VmModule.copy_buffer(ctx.instance, vmfb))
    main = ctx.modules.module[entry]
    args = [ireert.asdevicearray(config.device, a) for a in arrays]
    version = getattr(ireec, "__version__", None) or _dist_version("iree-base-compiler")
    return (lambda: main(*args).to_host()), compile_s, version, \
        f"llvm-cpu host{''.join(' ' + f for f in flags)}, {threads} threads"


# ------------------------------------------------------------------ attn-mlir

def ours_peer(text, entry, inputs, threads, reuse):
    import attn_mlir as am
    from attn_mlir import allocator

    note = "default malloc"
    # Opt-in process-wide malloc tuning, only while it exists (compiled
    # functions are meant to own their workspaces instead).
    if reuse and hasattr(allocator, "reuse_large_allocations"):
        allocator.reuse_large_allocations()
        note = "reuse_large_allocations()"
    start = time.perf_counter()
    fn = am.compile(text, entry=entry, pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    compile_s = time.perf_counter() - start
    return (lambda: fn(*inputs)), compile_s, _dist_version("attn-mlir"), \
        f"attn-to-llvm{{threads={threads}}}, {note}"


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


# ------------------------------------------------------------------ timing

def _machine_busy():
    """Busy jiffies of the whole machine (all CPUs) from /proc/stat."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def settle(max_s: float = 2.0) -> None:
    """Wait (at most `max_s`) until the machine is quiet before the next peer's round:
    after a round a worker's threads go on spinning for a while (OpenMP's
    KMP_BLOCKTIME, 200 ms by default, and onnxruntime's and OpenVINO's pools), and
    would otherwise take CPU from the peer measured next. Quiet: at most 10% of the
    machine busy over 50 ms."""
    quiet = 0.1 * 0.05 * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)  # jiffies
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        before = _machine_busy()
        time.sleep(0.05)
        if _machine_busy() - before <= quiet:
            return


def _own_cpu():
    t = os.times()
    return t.user + t.system


def _status_mib(key):
    """VmHWM (peak resident set, compile included) or VmRSS (now) of this process.
    Not ru_maxrss: that survives exec and so carries the harness's own peak."""
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_round(call, reps):
    """Per-call seconds over `reps` calls, and the CPU share others took meanwhile."""
    hz = os.sysconf("SC_CLK_TCK")
    ncpu = os.cpu_count() or 1
    busy0, own0 = _machine_busy(), _own_cpu()
    start = time.perf_counter()
    for _ in range(reps):
        call()
    wall = time.perf_counter() - start
    other = (_machine_busy() - busy0) / hz - (_own_cpu() - own0)
    # /proc/stat counts in clock ticks (10 ms): short rounds read coarse shares.
    return wall / reps, min(1.0, max(0.0, other) / (wall * ncpu))


def build_peer(peer, folder, threads, reuse):
    spec = json.loads((folder / "workload.json").read_text())
    data = np.load(folder / "inputs.npz")
    inputs = [data[f"arg{i}"] for i in range(len(data.files))]
    consts = []
    if (folder / "consts.npz").exists():
        cdata = np.load(folder / "consts.npz")
        consts = [cdata[f"c{i}"] for i in range(len(cdata.files))]
    kind, p = spec["kind"], spec["params"]
    if peer == "attn-mlir":
        return ours_peer(spec["text"], spec.get("entry", "main"), inputs, threads, reuse)
    if peer in IREE_FLAGS:
        return iree_peer(spec["text"], spec.get("entry", "main"), inputs, threads, IREE_FLAGS[peer])
    mkind, arrays, cidx = peer_arrays(kind, p, inputs, consts)
    if peer == "numpy":
        return numpy_peer(mkind, p, arrays, cidx, threads)
    if peer == "torch":
        return torch_peer(mkind, p, arrays, cidx, threads)
    if peer.startswith("ort-"):
        return ort_peer(peer[4:], mkind, p, arrays, cidx, threads)
    if peer.startswith("ov-"):
        _, precision, form = peer.split("-")
        return ov_peer(form, precision, mkind, p, arrays, cidx, threads)
    if peer.startswith("jax-"):
        return jax_peer(peer[4:], mkind, p, arrays, cidx, threads)
    raise SystemExit(f"unknown peer {peer}")


def main(argv):
    peer, folder, threads = argv[0], Path(argv[1]), int(argv[2])
    reuse = "--reuse-allocations" in argv
    if threads < (os.cpu_count() or 1):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    start = time.perf_counter()
    run, compile_s, version, config = build_peer(peer, folder, threads, reuse)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    first = run()
    first_call_s = time.perf_counter() - start
    np.save(folder / f"{peer}.npy", np.asarray(first, np.float32))
    for _ in range(2):
        run()
    start = time.perf_counter()
    run()
    reps = max(1, int(MIN_ROUND_S / max(time.perf_counter() - start, 1e-9)))
    print(json.dumps({"compile_s": compile_s or build_s, "first_call_s": first_call_s,
                      "version": version, "config": config, "reps": reps}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "round":
            t, other = time_round(run, reps)
            print(json.dumps({"t": t, "other_cpu": other}), flush=True)
        elif cmd == "quit":
            print(json.dumps({"peak_rss_mib": _status_mib("VmHWM:"), "rss_mib": _status_mib("VmRSS:")}),
                  flush=True)
            return


if __name__ == "__main__":
    # numpy's BLAS reads its thread count from the environment at import time:
    # the harness sets OPENBLAS_NUM_THREADS before starting this process.
    main(sys.argv[1:])
