"""Benchmark: a Llama-style RoPE attention layer before and after attn-optimize.

The layer is written the way torch-mlir emits it (see test/fixtures/llama_mha.mlir):
constant q/k/v/o weights [out, in] through `linalg.transpose`, heads via
expand_shape + transpose, rotary embedding with constant cos/sin tables and
rotate_half as slices + negation + concat, QK^T by `linalg.batch_matmul`,
scale by `mulf`, softmax decomposed into five generics.

Both versions are compiled the same way (`--lowering`, by default
attn-to-llvm with its default schedule) and timed on the same input; the script prints the median times and
their ratio. `--decode` benchmarks one token at a fixed position instead
(sequence length 1: cos/sin do not vary along the token axis, so the rotary
embedding folds into the q/k weights).

    python -m attn_mlir.bench.rope_layer [--seq 256] [--d-model 512] [--heads 8] [--reps 10] [--decode]
                               [--rotary-only]

This is a measurement, not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import attn_mlir as am


def _hex(array: np.ndarray) -> str:
    return 'dense<"0x' + np.ascontiguousarray(array, dtype=np.float32).tobytes().hex().upper() + '">'


def rope_tables(seq: int, head_dim: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    inv = 1.0 / (10000 ** (np.arange(0, head_dim, 2) / head_dim))
    angles = np.outer(np.arange(start, start + seq), inv)
    emb = np.concatenate([angles, angles], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def layer_mlir(seq: int, d_model: int, heads: int, seed: int = 0, position: int = 0) -> str:
    """The layer as torch-mlir-style linalg-on-tensors text with constant weights."""
    S, E, H = seq, d_model, heads
    D = E // H
    half = D // 2
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((E, E)) / np.sqrt(E)).astype(np.float32) for _ in range(4)]
    cos, sin = rope_tables(S, D, start=position)
    t4 = f"tensor<1x{H}x{S}x{D}xf32>"
    h4 = f"tensor<1x{H}x{S}x{half}xf32>"
    par4 = '["parallel", "parallel", "parallel", "parallel"]'
    lines = [
        "#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>",
        "#map1 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>",
        "#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>",
        "#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>",
        f"func.func @forward(%x: tensor<1x{S}x{E}xf32>) -> tensor<1x{S}x{E}xf32> {{",
        "  %c0_i64 = arith.constant 0 : i64",
        "  %zero = arith.constant 0.000000e+00 : f32",
        "  %ninf = arith.constant 0xFF800000 : f32",
        f"  %scale = arith.constant {1.0 / np.sqrt(D):.8e} : f32",
        f"  %cos = arith.constant {_hex(cos.reshape(1, 1, S, D))} : tensor<1x1x{S}x{D}xf32>",
        f"  %sin = arith.constant {_hex(sin.reshape(1, 1, S, D))} : tensor<1x1x{S}x{D}xf32>",
    ]
    for name, w in zip("qkvo", weights):
        lines.append(f"  %w{name} = arith.constant {_hex(w)} : tensor<{E}x{E}xf32>")
    lines += [
        f"  %eW = tensor.empty() : tensor<{E}x{E}xf32>",
        f"  %xs = tensor.collapse_shape %x [[0, 1], [2]] : tensor<1x{S}x{E}xf32> into tensor<{S}x{E}xf32>",
        f"  %eP = tensor.empty() : tensor<{S}x{E}xf32>",
        f"  %zP = linalg.fill ins(%zero : f32) outs(%eP : tensor<{S}x{E}xf32>) -> tensor<{S}x{E}xf32>",
        f"  %e4 = tensor.empty() : {t4}",
        f"  %eH = tensor.empty() : {h4}",
    ]
    for name in "qkv":
        lines += [
            f"  %wt{name} = linalg.transpose ins(%w{name} : tensor<{E}x{E}xf32>) outs(%eW : tensor<{E}x{E}xf32>) permutation = [1, 0]",
            f"  %p{name} = linalg.matmul ins(%xs, %wt{name} : tensor<{S}x{E}xf32>, tensor<{E}x{E}xf32>) outs(%zP : tensor<{S}x{E}xf32>) -> tensor<{S}x{E}xf32>",
            f"  %h{name} = tensor.expand_shape %p{name} [[0, 1], [2, 3]] output_shape [1, {S}, {H}, {D}] : tensor<{S}x{E}xf32> into tensor<1x{S}x{H}x{D}xf32>",
            f"  %t{name} = linalg.transpose ins(%h{name} : tensor<1x{S}x{H}x{D}xf32>) outs(%e4 : {t4}) permutation = [0, 2, 1, 3]",
        ]
    for name in "qk":
        lines += [
            f"  %{name}c = linalg.generic {{indexing_maps = [#map, #map1, #map], iterator_types = {par4}}} ins(%t{name}, %cos : {t4}, tensor<1x1x{S}x{D}xf32>) outs(%e4 : {t4}) {{",
            "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
            "    %m = arith.mulf %in, %in_1 : f32",
            "    linalg.yield %m : f32",
            f"  }} -> {t4}",
            f"  %{name}1 = tensor.extract_slice %t{name}[0, 0, 0, 0] [1, {H}, {S}, {half}] [1, 1, 1, 1] : {t4} to {h4}",
            f"  %{name}2 = tensor.extract_slice %t{name}[0, 0, 0, {half}] [1, {H}, {S}, {half}] [1, 1, 1, 1] : {t4} to {h4}",
            f"  %{name}n = linalg.generic {{indexing_maps = [#map, #map], iterator_types = {par4}}} ins(%{name}2 : {h4}) outs(%eH : {h4}) {{",
            "  ^bb0(%in: f32, %out: f32):",
            "    %m = arith.negf %in : f32",
            "    linalg.yield %m : f32",
            f"  }} -> {h4}",
            f"  %{name}rh = tensor.concat dim(3) %{name}n, %{name}1 : ({h4}, {h4}) -> {t4}",
            f"  %{name}s = linalg.generic {{indexing_maps = [#map, #map1, #map], iterator_types = {par4}}} ins(%{name}rh, %sin : {t4}, tensor<1x1x{S}x{D}xf32>) outs(%e4 : {t4}) {{",
            "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
            "    %m = arith.mulf %in, %in_1 : f32",
            "    linalg.yield %m : f32",
            f"  }} -> {t4}",
            f"  %{name}r = linalg.generic {{indexing_maps = [#map, #map, #map], iterator_types = {par4}}} ins(%{name}c, %{name}s : {t4}, {t4}) outs(%e4 : {t4}) {{",
            "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
            "    %m = arith.addf %in, %in_1 : f32",
            "    linalg.yield %m : f32",
            f"  }} -> {t4}",
        ]
    s4 = f"tensor<1x{H}x{S}x{S}xf32>"
    s3 = f"tensor<{H}x{S}x{S}xf32>"
    r3 = f"tensor<1x{H}x{S}xf32>"
    lines += [
        f"  %eK = tensor.empty() : tensor<1x{H}x{D}x{S}xf32>",
        f"  %kT = linalg.transpose ins(%kr : {t4}) outs(%eK : tensor<1x{H}x{D}x{S}xf32>) permutation = [0, 1, 3, 2]",
        f"  %q3 = tensor.collapse_shape %qr [[0, 1], [2], [3]] : {t4} into tensor<{H}x{S}x{D}xf32>",
        f"  %k3 = tensor.collapse_shape %kT [[0, 1], [2], [3]] : tensor<1x{H}x{D}x{S}xf32> into tensor<{H}x{D}x{S}xf32>",
        f"  %eS = tensor.empty() : {s3}",
        f"  %zS = linalg.fill ins(%zero : f32) outs(%eS : {s3}) -> {s3}",
        f"  %sc = linalg.batch_matmul ins(%q3, %k3 : tensor<{H}x{S}x{D}xf32>, tensor<{H}x{D}x{S}xf32>) outs(%zS : {s3}) -> {s3}",
        f"  %sc4 = tensor.expand_shape %sc [[0, 1], [2], [3]] output_shape [1, {H}, {S}, {S}] : {s3} into {s4}",
        f"  %e44 = tensor.empty() : {s4}",
        f"  %ss = linalg.generic {{indexing_maps = [#map, #map], iterator_types = {par4}}} ins(%sc4 : {s4}) outs(%e44 : {s4}) {{",
        "  ^bb0(%in: f32, %out: f32):",
        "    %m = arith.mulf %in, %scale : f32",
        "    linalg.yield %m : f32",
        f"  }} -> {s4}",
        f"  %ei = tensor.empty() : tensor<1x{H}x{S}xi64>",
        f"  %fi = linalg.fill ins(%c0_i64 : i64) outs(%ei : tensor<1x{H}x{S}xi64>) -> tensor<1x{H}x{S}xi64>",
        f"  %er = tensor.empty() : {r3}",
        f"  %fr = linalg.fill ins(%ninf : f32) outs(%er : {r3}) -> {r3}",
        f'  %mx:2 = linalg.generic {{indexing_maps = [#map, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}} ins(%ss : {s4}) outs(%fr, %fi : {r3}, tensor<1x{H}x{S}xi64>) {{',
        "  ^bb0(%in: f32, %out: f32, %out_1: i64):",
        "    %i = linalg.index 3 : index",
        "    %ii = arith.index_cast %i : index to i64",
        "    %m = arith.maximumf %in, %out : f32",
        "    %c = arith.cmpf ogt, %in, %out : f32",
        "    %s = arith.select %c, %ii, %out_1 : i64",
        "    linalg.yield %m, %s : f32, i64",
        f"  }} -> ({r3}, tensor<1x{H}x{S}xi64>)",
        f"  %mx4 = tensor.expand_shape %mx#0 [[0], [1], [2, 3]] output_shape [1, {H}, {S}, 1] : {r3} into tensor<1x{H}x{S}x1xf32>",
        f"  %sub = linalg.generic {{indexing_maps = [#map, #map3, #map], iterator_types = {par4}}} ins(%ss, %mx4 : {s4}, tensor<1x{H}x{S}x1xf32>) outs(%e44 : {s4}) {{",
        "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
        "    %m = arith.subf %in, %in_1 : f32",
        "    linalg.yield %m : f32",
        f"  }} -> {s4}",
        f"  %ex = linalg.generic {{indexing_maps = [#map, #map], iterator_types = {par4}}} ins(%sub : {s4}) outs(%e44 : {s4}) {{",
        "  ^bb0(%in: f32, %out: f32):",
        "    %m = math.exp %in : f32",
        "    linalg.yield %m : f32",
        f"  }} -> {s4}",
        f"  %e1 = tensor.empty() : tensor<1x{H}x{S}x1xf32>",
        f"  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x{H}x{S}x1xf32>) -> tensor<1x{H}x{S}x1xf32>",
        f'  %sm = linalg.generic {{indexing_maps = [#map, #map3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}} ins(%ex : {s4}) outs(%z1 : tensor<1x{H}x{S}x1xf32>) {{',
        "  ^bb0(%in: f32, %out: f32):",
        "    %m = arith.addf %in, %out : f32",
        "    linalg.yield %m : f32",
        "  } -> " + f"tensor<1x{H}x{S}x1xf32>",
        f"  %pr = linalg.generic {{indexing_maps = [#map, #map3, #map], iterator_types = {par4}}} ins(%ex, %sm : {s4}, tensor<1x{H}x{S}x1xf32>) outs(%e44 : {s4}) {{",
        "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
        "    %m = arith.divf %in, %in_1 : f32",
        "    linalg.yield %m : f32",
        f"  }} -> {s4}",
        f"  %p3 = tensor.collapse_shape %pr [[0, 1], [2], [3]] : {s4} into {s3}",
        f"  %v3 = tensor.collapse_shape %tv [[0, 1], [2], [3]] : {t4} into tensor<{H}x{S}x{D}xf32>",
        f"  %eA = tensor.empty() : tensor<{H}x{S}x{D}xf32>",
        f"  %zA = linalg.fill ins(%zero : f32) outs(%eA : tensor<{H}x{S}x{D}xf32>) -> tensor<{H}x{S}x{D}xf32>",
        f"  %at = linalg.batch_matmul ins(%p3, %v3 : {s3}, tensor<{H}x{S}x{D}xf32>) outs(%zA : tensor<{H}x{S}x{D}xf32>) -> tensor<{H}x{S}x{D}xf32>",
        f"  %at4 = tensor.expand_shape %at [[0, 1], [2], [3]] output_shape [1, {H}, {S}, {D}] : tensor<{H}x{S}x{D}xf32> into {t4}",
        f"  %eT = tensor.empty() : tensor<1x{S}x{H}x{D}xf32>",
        f"  %atT = linalg.transpose ins(%at4 : {t4}) outs(%eT : tensor<1x{S}x{H}x{D}xf32>) permutation = [0, 2, 1, 3]",
        f"  %wto = linalg.transpose ins(%wo : tensor<{E}x{E}xf32>) outs(%eW : tensor<{E}x{E}xf32>) permutation = [1, 0]",
        f"  %m2 = tensor.collapse_shape %atT [[0, 1], [2, 3]] : tensor<1x{S}x{H}x{D}xf32> into tensor<{S}x{E}xf32>",
        f"  %o = linalg.matmul ins(%m2, %wto : tensor<{S}x{E}xf32>, tensor<{E}x{E}xf32>) outs(%zP : tensor<{S}x{E}xf32>) -> tensor<{S}x{E}xf32>",
        f"  %o3 = tensor.expand_shape %o [[0, 1], [2]] output_shape [1, {S}, {E}] : tensor<{S}x{E}xf32> into tensor<1x{S}x{E}xf32>",
        f"  return %o3 : tensor<1x{S}x{E}xf32>",
        "}",
    ]
    return "\n".join(lines) + "\n"


def rotary_mlir(seq: int, heads: int, head_dim: int) -> str:
    """Only the rotary embedding of the layer, on a [1, heads, seq, head_dim] input."""
    H, S, D = heads, seq, head_dim
    half = D // 2
    cos, sin = rope_tables(S, D)
    t4, h4 = f"tensor<1x{H}x{S}x{D}xf32>", f"tensor<1x{H}x{S}x{half}xf32>"
    c4 = f"tensor<1x{1}x{S}x{D}xf32>"
    par4 = '["parallel", "parallel", "parallel", "parallel"]'

    def mul(name, lhs, rhs, maps, types):
        return [f"  %{name} = linalg.generic {{indexing_maps = {maps}, iterator_types = {par4}}} "
                f"ins({lhs}, {rhs} : {types}) outs(%e4 : {t4}) {{",
                "  ^bb0(%in: f32, %in_1: f32, %out: f32):",
                "    %m = arith.mulf %in, %in_1 : f32" if name != "r" else
                "    %m = arith.addf %in, %in_1 : f32",
                "    linalg.yield %m : f32",
                f"  }} -> {t4}"]

    lines = ["#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>",
             "#map1 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>",
             f"func.func @forward(%t: {t4}) -> {t4} {{",
             f"  %cos = arith.constant {_hex(cos.reshape(1, 1, S, D))} : {c4}",
             f"  %sin = arith.constant {_hex(sin.reshape(1, 1, S, D))} : {c4}",
             f"  %e4 = tensor.empty() : {t4}",
             f"  %eH = tensor.empty() : {h4}"]
    lines += mul("c", "%t", "%cos", "[#map, #map1, #map]", f"{t4}, {c4}")
    lines += [f"  %x1 = tensor.extract_slice %t[0, 0, 0, 0] [1, {H}, {S}, {half}] [1, 1, 1, 1] : {t4} to {h4}",
              f"  %x2 = tensor.extract_slice %t[0, 0, 0, {half}] [1, {H}, {S}, {half}] [1, 1, 1, 1] : {t4} to {h4}",
              f"  %n = linalg.generic {{indexing_maps = [#map, #map], iterator_types = {par4}}} "
              f"ins(%x2 : {h4}) outs(%eH : {h4}) {{",
              "  ^bb0(%in: f32, %out: f32):",
              "    %m = arith.negf %in : f32",
              "    linalg.yield %m : f32",
              f"  }} -> {h4}",
              f"  %rh = tensor.concat dim(3) %n, %x1 : ({h4}, {h4}) -> {t4}"]
    lines += mul("s", "%rh", "%sin", "[#map, #map1, #map]", f"{t4}, {c4}")
    lines += mul("r", "%c", "%s", "[#map, #map, #map]", f"{t4}, {t4}")
    lines += [f"  return %r : {t4}", "}"]
    return "\n".join(lines) + "\n"


def reference(x: np.ndarray, seq: int, d_model: int, heads: int, seed: int = 0,
              position: int = 0) -> np.ndarray:
    """The same layer in numpy (to check that the benchmark computes the right thing)."""
    S, E, H = seq, d_model, heads
    D = E // H
    rng = np.random.default_rng(seed)
    wq, wk, wv, wo = [(rng.standard_normal((E, E)) / np.sqrt(E)).astype(np.float32) for _ in range(4)]
    cos, sin = rope_tables(S, D, start=position)
    x2 = x.reshape(S, E).astype(np.float64)

    def heads_of(w):
        return (x2 @ w.T).reshape(S, H, D).transpose(1, 0, 2)

    def rotary(t):
        rot = np.concatenate([-t[..., D // 2:], t[..., :D // 2]], axis=-1)
        return t * cos + rot * sin

    q, k, v = rotary(heads_of(wq)), rotary(heads_of(wk)), heads_of(wv)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(D)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probs = scores / scores.sum(-1, keepdims=True)
    out = (probs @ v).transpose(1, 0, 2).reshape(S, E) @ wo.T
    return out.reshape(1, S, E).astype(np.float32)


def time_interleaved(fns, x, reps: int, clock=time.process_time) -> list[float]:
    """Best time of each function over `reps` rounds, the functions taking turns
    (so that a busy machine slows all of them alike). The default clock is this
    process's CPU time: the compiled code runs on one thread, and CPU time is
    what other processes on a shared machine disturb least."""
    for fn in fns:
        fn(x)  # warm up
    times = [[] for _ in fns]
    for _ in range(reps):
        for fn, out in zip(fns, times):
            start = clock()
            fn(x)
            out.append(clock() - start)
    return [min(t) for t in times]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--decode", action="store_true",
                   help="one token at a fixed position (sequence length 1, position 100)")
    p.add_argument("--rotary-only", action="store_true",
                   help="time only the rotary embedding of q ([1, heads, seq, head_dim] input)")
    p.add_argument("--lowering", default="builtin.module(attn-to-llvm)",
                   help="the pipeline both versions are compiled with")
    args = p.parse_args(argv)
    seq, position = (1, 100) if args.decode else (args.seq, 0)
    head_dim = args.d_model // args.heads
    if args.rotary_only:
        text = rotary_mlir(seq, args.heads, head_dim)
        x = np.random.default_rng(1).standard_normal((1, args.heads, seq, head_dim)).astype(np.float32)
    else:
        text = layer_mlir(seq, args.d_model, args.heads, position=position)
        x = np.random.default_rng(1).standard_normal((1, seq, args.d_model)).astype(np.float32)
    with am.make_context():
        module = am.parse_module(text, "rope_layer.mlir")
        start = time.perf_counter()
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        optimize_s = time.perf_counter() - start
        optimized = str(module)
    base = am.compile(text, pipeline=args.lowering)
    fast = am.compile(optimized, pipeline=args.lowering)
    if not args.rotary_only:
        want = reference(x, seq, args.d_model, args.heads, position=position)
        np.testing.assert_allclose(base(x), want, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fast(x), base(x), rtol=1e-4, atol=1e-5)
    t_base, t_fast = time_interleaved([base, fast], x, args.reps)
    w_base, w_fast = time_interleaved([base, fast], x, args.reps, clock=time.perf_counter)
    mode = f"decode (position {position})" if args.decode else f"prefill (seq {seq})"
    what = "rotary embedding only" if args.rotary_only else "rope attention layer"
    print(f"{what}, {mode}, d_model {args.d_model}, {args.heads} heads, "
          f"compiled with {args.lowering}")
    print(f"  attn-optimize took {optimize_s:.2f} s")
    print(f"  CPU time,  before: {t_base * 1e3:9.2f} ms  after: {t_fast * 1e3:9.2f} ms  "
          f"speedup {t_base / t_fast:.2f}x (best of {args.reps}, interleaved)")
    print(f"  wall time, before: {w_base * 1e3:9.2f} ms  after: {w_fast * 1e3:9.2f} ms  "
          f"speedup {w_base / w_fast:.2f}x")


if __name__ == "__main__":
    main()
