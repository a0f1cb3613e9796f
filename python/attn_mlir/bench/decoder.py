"""Llama decoder layer workloads: prefill (causal, seq S) and one decode step.

    h   = x + Wo . attn(rope(Wq . rms(x)), rope(Wk . rms(x)), Wv . rms(x))
    out = h + Wd . (silu(Wg . rms(h)) * (Wu . rms(h)))

rms(t) = t / sqrt(mean(t^2) + eps) * g. Weights are `arith.constant`s in the
MLIR (the way a deployed model is compiled), stored [in, out] so the peers get
the very same arrays (`constants`). Prefill masks future keys (causal); the
decode step takes the KV cache of `context` positions as inputs [heads,
context, head_dim], appends the new key/value and attends to all of them, with
the rotary tables at position `context`.
"""

from __future__ import annotations

import numpy as np

from ..reference import softmax
from .decoder_math import EPS, math
from .workloads import rope_tables, tensor_t


def _hex(array: np.ndarray) -> str:
    return 'dense<"0x' + np.ascontiguousarray(array, dtype=np.float32).tobytes().hex().upper() + '">'


def constants(p: dict) -> list[np.ndarray]:
    """[g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin] (weights [in, out])."""
    e, i, h = p["hidden"], p["inter"], p["heads"]
    rng = np.random.default_rng(p["seed"])
    w = lambda a, b: (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)  # noqa: E731
    g = lambda: (1 + 0.1 * rng.standard_normal(e)).astype(np.float32)  # noqa: E731
    g1, wq, wk, wv, wo = g(), w(e, e), w(e, e), w(e, e), w(e, e)
    g2, wg, wu, wd = g(), w(e, i), w(e, i), w(i, e)
    start = p.get("context", 0)
    cos, sin = rope_tables(start + p["seq"], e // h)
    return [g1, wq, wk, wv, wo, g2, wg, wu, wd, cos[start:], sin[start:]]


def inputs(p: dict, rng) -> list[np.ndarray]:
    x = rng.standard_normal((p["seq"], p["hidden"])).astype(np.float32)
    if "context" not in p:
        return [x]
    hd = p["hidden"] // p["heads"]
    cache = [rng.standard_normal((p["heads"], p["context"], hd)).astype(np.float32) for _ in range(2)]
    return [x] + cache


def reference(p: dict, ins: list[np.ndarray]) -> np.ndarray:
    args = [a.astype(np.float64) for a in ins + constants(p)]
    return math(np, softmax, p)(*args)


def flops(p: dict) -> int:
    s, e, i = p["seq"], p["hidden"], p["inter"]
    keys = p.get("context", 0) + s
    return 2 * s * (4 * e * e + 3 * e * i) + 2 * 2 * s * keys * e


def mlir(p: dict, weights_file: str | None = None) -> str:
    """The layer as MLIR text; with `weights_file`, its weight matrices go to that
    safetensors file (written here) and the module loads them by name."""
    s, e, h, inter = p["seq"], p["hidden"], p["heads"], p["inter"]
    hd, half = e // h, e // h // 2
    ctx = p.get("context")
    t = (ctx or 0) + s
    g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin = constants(p)
    se, hsd, shd = tensor_t(s, e), tensor_t(h, s, hd), tensor_t(s, h, hd)
    hkd, hts = tensor_t(h, t, hd), tensor_t(h, s, t)
    par2, par3 = '["parallel", "parallel"]', '["parallel", "parallel", "parallel"]'
    L = [
        "#id = affine_map<(d0, d1) -> (d0, d1)>",
        "#row = affine_map<(d0, d1) -> (d0)>",
        "#col = affine_map<(d0, d1) -> (d1)>",
        "#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>",
        "#sd = affine_map<(d0, d1, d2) -> (d1, d2)>",
    ]
    args = f"%x: {se}" + (f", %kc: {tensor_t(h, ctx, hd)}, %vc: {tensor_t(h, ctx, hd)}" if ctx else "")
    L += [f"func.func @main({args}) -> {se} {{",
          "  %zero = arith.constant 0.0 : f32",
          "  %one = arith.constant 1.0 : f32",
          "  %ninf = arith.constant 0xFF800000 : f32",
          f"  %eps = arith.constant {EPS:.6e} : f32",
          f"  %n = arith.constant {float(e)!r} : f32",
          f"  %scale = arith.constant {float(1 / np.sqrt(hd))!r} : f32"]
    external = {}
    for name, arr in zip(("g1", "wq", "wk", "wv", "wo", "g2", "wg", "wu", "wd", "cos", "sin"),
                         (g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin)):
        if weights_file is not None and name.startswith("w"):
            external[name] = arr
            L.append(f"  %{name} = ml_program.global_load_const @{name} : {tensor_t(*arr.shape)}")
        else:
            L.append(f"  %{name} = arith.constant {_hex(arr)} : {tensor_t(*arr.shape)}")
    if external:
        from ..weights import write_safetensors

        write_safetensors(weights_file, external)
        func = next(i for i, line in enumerate(L) if line.startswith("func.func"))
        L[func:func] = [f'module attributes {{attn.weights = "{weights_file}"}} {{'] + [
            f"  ml_program.global private @{name}(#ml_program.extern : {tensor_t(*a.shape)}) : "
            f"{tensor_t(*a.shape)}" for name, a in external.items()]
    L += [f"  %ese = tensor.empty() : {se}",
          f"  %zse = linalg.fill ins(%zero : f32) outs(%ese : {se}) -> {se}",
          f"  %esi = tensor.empty() : {tensor_t(s, inter)}",
          f"  %zsi = linalg.fill ins(%zero : f32) outs(%esi : {tensor_t(s, inter)}) -> {tensor_t(s, inter)}",
          f"  %es = tensor.empty() : {tensor_t(s)}",
          f"  %zs = linalg.fill ins(%zero : f32) outs(%es : {tensor_t(s)}) -> {tensor_t(s)}",
          f"  %ehsd = tensor.empty() : {hsd}",
          f"  %ehalf = tensor.empty() : {tensor_t(h, s, half)}"]

    def rms(out, x, g):
        return [
            f"  %{out}_ss = linalg.generic {{indexing_maps = [#id, #row], iterator_types = [\"parallel\", \"reduction\"]}}"
            f" ins(%{x} : {se}) outs(%zs : {tensor_t(s)}) {{",
            "  ^bb0(%a: f32, %acc: f32):",
            "    %m = arith.mulf %a, %a : f32",
            "    %r = arith.addf %m, %acc : f32",
            "    linalg.yield %r : f32",
            f"  }} -> {tensor_t(s)}",
            f"  %{out} = linalg.generic {{indexing_maps = [#id, #row, #col, #id], iterator_types = {par2}}}"
            f" ins(%{x}, %{out}_ss, %{g} : {se}, {tensor_t(s)}, {tensor_t(e)}) outs(%ese : {se}) {{",
            "  ^bb0(%a: f32, %ss: f32, %gg: f32, %ob: f32):",
            "    %mean = arith.divf %ss, %n : f32",
            "    %v = arith.addf %mean, %eps : f32",
            "    %sq = math.sqrt %v : f32",
            "    %d = arith.divf %a, %sq : f32",
            "    %r = arith.mulf %d, %gg : f32",
            "    linalg.yield %r : f32",
            f"  }} -> {se}"]

    def mm(out, a, b, ta, tb, init, tout):
        return [f"  %{out} = linalg.matmul ins(%{a}, %{b} : {ta}, {tb}) outs(%{init} : {tout}) -> {tout}"]

    L += rms("xn", "x", "g1")
    for w in "qkv":
        L += mm(f"p{w}", "xn", f"w{w}", se, tensor_t(e, e), "zse", se)
        L += [f"  %{w}3 = tensor.expand_shape %p{w} [[0], [1, 2]] output_shape [{s}, {h}, {hd}] : {se} into {shd}",
              f"  %{w}h = linalg.transpose ins(%{w}3 : {shd}) outs(%ehsd : {hsd}) permutation = [1, 0, 2]"]
    for w in "qk":
        L += [f"  %{w}1 = tensor.extract_slice %{w}h[0, 0, 0] [{h}, {s}, {half}] [1, 1, 1] : {hsd} to {tensor_t(h, s, half)}",
              f"  %{w}2 = tensor.extract_slice %{w}h[0, 0, {half}] [{h}, {s}, {half}] [1, 1, 1] : {hsd} to {tensor_t(h, s, half)}",
              f"  %{w}2n = linalg.generic {{indexing_maps = [#id3, #id3], iterator_types = {par3}}}"
              f" ins(%{w}2 : {tensor_t(h, s, half)}) outs(%ehalf : {tensor_t(h, s, half)}) {{",
              "  ^bb0(%a: f32, %ob: f32):",
              "    %r = arith.negf %a : f32",
              "    linalg.yield %r : f32",
              f"  }} -> {tensor_t(h, s, half)}",
              f"  %{w}rot = tensor.concat dim(2) %{w}2n, %{w}1 : ({tensor_t(h, s, half)}, {tensor_t(h, s, half)}) -> {hsd}",
              f"  %{w}r = linalg.generic {{indexing_maps = [#id3, #id3, #sd, #sd, #id3], iterator_types = {par3}}}"
              f" ins(%{w}h, %{w}rot, %cos, %sin : {hsd}, {hsd}, {tensor_t(s, hd)}, {tensor_t(s, hd)}) outs(%ehsd : {hsd}) {{",
              "  ^bb0(%a: f32, %b: f32, %c: f32, %sn: f32, %ob: f32):",
              "    %ac = arith.mulf %a, %c : f32",
              "    %bs = arith.mulf %b, %sn : f32",
              "    %r = arith.addf %ac, %bs : f32",
              "    linalg.yield %r : f32",
              f"  }} -> {hsd}"]
    if ctx:
        L += [f"  %kall = tensor.concat dim(1) %kc, %kr : ({tensor_t(h, ctx, hd)}, {hsd}) -> {hkd}",
              f"  %vall = tensor.concat dim(1) %vc, %vh : ({tensor_t(h, ctx, hd)}, {hsd}) -> {hkd}"]
        k_all, v_all = "kall", "vall"
    else:
        k_all, v_all = "kr", "vh"
    L += [f"  %ekt = tensor.empty() : {tensor_t(h, hd, t)}",
          f"  %kt = linalg.transpose ins(%{k_all} : {hkd}) outs(%ekt : {tensor_t(h, hd, t)}) permutation = [0, 2, 1]",
          f"  %ess = tensor.empty() : {hts}",
          f"  %zss = linalg.fill ins(%zero : f32) outs(%ess : {hts}) -> {hts}",
          f"  %sc = linalg.batch_matmul ins(%qr, %kt : {hsd}, {tensor_t(h, hd, t)}) outs(%zss : {hts}) -> {hts}",
          f"  %scaled = linalg.generic {{indexing_maps = [#id3, #id3], iterator_types = {par3}}}"
          f" ins(%sc : {hts}) outs(%ess : {hts}) {{",
          "  ^bb0(%a: f32, %ob: f32):",
          "    %m = arith.mulf %a, %scale : f32"]
    if ctx:
        L += ["    linalg.yield %m : f32"]
    else:
        L += ["    %i = linalg.index 1 : index",
              "    %j = linalg.index 2 : index",
              "    %future = arith.cmpi ugt, %j, %i : index",
              "    %r = arith.select %future, %ninf, %m : f32",
              "    linalg.yield %r : f32"]
    L += [f"  }} -> {hts}",
          f"  %pr = linalg.softmax dimension(2) ins(%scaled : {hts}) outs(%ess : {hts}) -> {hts}",
          f"  %zo = linalg.fill ins(%zero : f32) outs(%ehsd : {hsd}) -> {hsd}",
          f"  %o = linalg.batch_matmul ins(%pr, %{v_all} : {hts}, {hkd}) outs(%zo : {hsd}) -> {hsd}",
          f"  %eshd = tensor.empty() : {shd}",
          f"  %os = linalg.transpose ins(%o : {hsd}) outs(%eshd : {shd}) permutation = [1, 0, 2]",
          f"  %o2 = tensor.collapse_shape %os [[0], [1, 2]] : {shd} into {se}"]
    L += mm("attn", "o2", "wo", se, tensor_t(e, e), "zse", se)
    add = lambda out, a, b: [  # noqa: E731
        f"  %{out} = linalg.generic {{indexing_maps = [#id, #id, #id], iterator_types = {par2}}}"
        f" ins(%{a}, %{b} : {se}, {se}) outs(%ese : {se}) {{",
        "  ^bb0(%a: f32, %b: f32, %ob: f32):",
        "    %r = arith.addf %a, %b : f32",
        "    linalg.yield %r : f32",
        f"  }} -> {se}"]
    si = tensor_t(s, inter)
    L += add("hres", "x", "attn")
    L += rms("hn", "hres", "g2")
    L += mm("gate", "hn", "wg", se, tensor_t(e, inter), "zsi", si)
    L += mm("up", "hn", "wu", se, tensor_t(e, inter), "zsi", si)
    L += [f"  %act = linalg.generic {{indexing_maps = [#id, #id, #id], iterator_types = {par2}}}"
          f" ins(%gate, %up : {si}, {si}) outs(%esi : {si}) {{",
          "  ^bb0(%g: f32, %u: f32, %ob: f32):",
          "    %ng = arith.negf %g : f32",
          "    %ex = math.exp %ng : f32",
          "    %den = arith.addf %ex, %one : f32",
          "    %sl = arith.divf %g, %den : f32",
          "    %r = arith.mulf %sl, %u : f32",
          "    linalg.yield %r : f32",
          f"  }} -> {si}"]
    L += mm("down", "act", "wd", si, tensor_t(inter, e), "zse", se)
    L += add("out", "hres", "down")
    L += [f"  return %out : {se}", "}"] + (["}"] if external else [])
    return "\n".join(L) + "\n"
