"""Hand-written linalg of the ops torch-mlir emits around attention in decoder
layers and models, each with a numpy reference.

The IR follows torch-mlir's spelling: keep-dim reductions write through a map
with a constant 0 result (`(d0, d1, d2) -> (d0, d1, 0)`), scalars broadcast
through the same map, sigmoid is `1 / (1 + exp(-x))`, embedding lookups are a
`linalg.generic` with `arith.index_cast` and `tensor.extract`, masks arrive as
`i64` and become `i1` through `arith.cmpi`. Every case is a function
`case(**sizes) -> (mlir text, inputs, expected outputs)`.
"""

from __future__ import annotations

import math

import numpy as np

ID3 = "affine_map<(d0, d1, d2) -> (d0, d1, d2)>"
KEEP3 = "affine_map<(d0, d1, d2) -> (d0, d1, 0)>"
LAST3 = "affine_map<(d0, d1, d2) -> (d2)>"
PAR3 = '["parallel", "parallel", "parallel"]'
RED3 = '["parallel", "parallel", "reduction"]'


def _rng(seed=0):
    return np.random.default_rng(seed)


def _map1(op, t, x, out, body, maps=None, iters=PAR3, ins_types=None):
    """One elementwise generic: `%op = generic ins(x) outs(out)` with `body` (uses %in, %out)."""
    maps = maps or [ID3, ID3]
    return f"""    {op} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = {iters}}} ins({x} : {ins_types or t[0]}) outs({out} : {t[1]}) {{
    ^bb0(%in: {t[2]}, %out: {t[3]}):
{body}
    }} -> {t[1]}
"""


def _map2(op, t, x, y, out, body, maps=None, iters=PAR3):
    maps = maps or [ID3, ID3, ID3]
    return f"""    {op} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = {iters}}} ins({x}, {y} : {t[0]}, {t[1]}) outs({out} : {t[2]}) {{
    ^bb0(%in: {t[3]}, %in_1: {t[4]}, %out: {t[5]}):
{body}
    }} -> {t[2]}
"""


def rms_norm_body(x, w, s, h, eps, prefix="n"):
    """torch-mlir's LlamaRMSNorm: pow 2, keep-dim sum, div by H, add eps, rsqrt, mul, mul weight."""
    T, R = f"tensor<1x{s}x{h}xf32>", f"tensor<1x{s}x1xf32>"
    p = prefix
    return (f"""    %{p}e = tensor.empty() : {T}
    %{p}er = tensor.empty() : {R}
    %{p}z = linalg.fill ins(%zero : f32) outs(%{p}er : {R}) -> {R}
""" + _map1(f"%{p}1", (T, T, "f32", "f32"), x, f"%{p}e",
            "      %c2 = arith.constant 2.0 : f32\n      %r = math.powf %in, %c2 : f32\n      linalg.yield %r : f32")
        + _map1(f"%{p}2", (T, R, "f32", "f32"), f"%{p}1", f"%{p}z",
                "      %r = arith.addf %in, %out : f32\n      linalg.yield %r : f32", [ID3, KEEP3], RED3)
        + _map1(f"%{p}3", (R, R, "f32", "f32"), f"%{p}2", f"%{p}er",
                f"      %d = arith.constant {float(h):e} : f32\n      %r = arith.divf %in, %d : f32\n"
                "      linalg.yield %r : f32")
        + _map1(f"%{p}4", (R, R, "f32", "f32"), f"%{p}3", f"%{p}er",
                f"      %ep = arith.constant {eps:e} : f64\n      %e32 = arith.truncf %ep : f64 to f32\n"
                "      %a = arith.addf %in, %e32 : f32\n      %r = math.rsqrt %a : f32\n      linalg.yield %r : f32")
        + _map2(f"%{p}5", (T, R, T, "f32", "f32", "f32"), x, f"%{p}4", f"%{p}e",
                "      %r = arith.mulf %in, %in_1 : f32\n      linalg.yield %r : f32", [ID3, KEEP3, ID3])
        + _map2(f"%{p}6", (f"tensor<{h}xf32>", T, T, "f32", "f32", "f32"), w, f"%{p}5", f"%{p}e",
                "      %r = arith.mulf %in, %in_1 : f32\n      linalg.yield %r : f32", [LAST3, ID3, ID3]))


def rms_norm_ref(x, w, eps):
    x64 = x.astype(np.float64)
    return (w * (x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + eps))).astype(np.float32)


def _func(name, args, result_type, body, result):
    return (f"module {{\n  func.func @{name}({args}) -> {result_type} {{\n"
            f"    %zero = arith.constant 0.0 : f32\n{body}    return {result} : {result_type}\n  }}\n}}\n")


def rms_norm(s=16, h=64, eps=1e-6):
    text = _func("rms_norm", f"%x: tensor<1x{s}x{h}xf32>, %w: tensor<{h}xf32>", f"tensor<1x{s}x{h}xf32>",
                 rms_norm_body("%x", "%w", s, h, eps), "%n6")
    r = _rng()
    x = r.standard_normal((1, s, h)).astype(np.float32)
    w = r.standard_normal(h).astype(np.float32)
    return text, [x, w], [rms_norm_ref(x, w, eps)]


def layer_norm(s=16, h=64, eps=1e-5):
    """torch-mlir's decomposed aten.layer_norm: mean, centred, variance, rsqrt, scale and shift."""
    T, R, V = f"tensor<1x{s}x{h}xf32>", f"tensor<1x{s}x1xf32>", f"tensor<{h}xf32>"
    body = (f"""    %e = tensor.empty() : {T}
    %er = tensor.empty() : {R}
    %z = linalg.fill ins(%zero : f32) outs(%er : {R}) -> {R}
""" + _map1("%sum", (T, R, "f32", "f32"), "%x", "%z",
            "      %r = arith.addf %in, %out : f32\n      linalg.yield %r : f32", [ID3, KEEP3], RED3)
        + _map1("%mean", (R, R, "f32", "f32"), "%sum", "%er",
                f"      %d = arith.constant {float(h):e} : f32\n      %r = arith.divf %in, %d : f32\n"
                "      linalg.yield %r : f32")
        + _map2("%xc", (T, R, T, "f32", "f32", "f32"), "%x", "%mean", "%e",
                "      %r = arith.subf %in, %in_1 : f32\n      linalg.yield %r : f32", [ID3, KEEP3, ID3])
        + _map1("%sq", (T, R, "f32", "f32"), "%xc", "%z",
                "      %m = arith.mulf %in, %in : f32\n      %r = arith.addf %m, %out : f32\n"
                "      linalg.yield %r : f32", [ID3, KEEP3], RED3)
        + _map1("%rs", (R, R, "f32", "f32"), "%sq", "%er",
                f"      %d = arith.constant {float(h):e} : f32\n      %v = arith.divf %in, %d : f32\n"
                f"      %ep = arith.constant {eps:e} : f32\n      %a = arith.addf %v, %ep : f32\n"
                "      %r = math.rsqrt %a : f32\n      linalg.yield %r : f32")
        + _map2("%nx", (T, R, T, "f32", "f32", "f32"), "%xc", "%rs", "%e",
                "      %r = arith.mulf %in, %in_1 : f32\n      linalg.yield %r : f32", [ID3, KEEP3, ID3])
        + f"""    %y = linalg.generic {{indexing_maps = [{ID3}, {LAST3}, {LAST3}, {ID3}], iterator_types = {PAR3}}} ins(%nx, %w, %b : {T}, {V}, {V}) outs(%e : {T}) {{
    ^bb0(%in: f32, %in_1: f32, %in_2: f32, %out: f32):
      %m = arith.mulf %in, %in_1 : f32
      %r = arith.addf %m, %in_2 : f32
      linalg.yield %r : f32
    }} -> {T}
""")
    text = _func("layer_norm", f"%x: {T}, %w: {V}, %b: {V}", T, body, "%y")
    r = _rng()
    x = (r.standard_normal((1, s, h)) * 2 + 0.5).astype(np.float32)
    w, b = r.standard_normal(h).astype(np.float32), r.standard_normal(h).astype(np.float32)
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    ref = (x64 - mu) / np.sqrt(((x64 - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b
    return text, [x, w, b], [ref.astype(np.float32)]


def _activation(name, s, h, body_lines, ref, scale=3.0):
    T = f"tensor<1x{s}x{h}xf32>"
    body = f"    %e = tensor.empty() : {T}\n" + _map1("%y", (T, T, "f32", "f32"), "%x", "%e", body_lines)
    text = _func(name, f"%x: {T}", T, body, "%y")
    x = (_rng().standard_normal((1, s, h)) * scale).astype(np.float32)
    return text, [x], [ref(x.astype(np.float64)).astype(np.float32)]


SIGMOID_SILU = """      %n = arith.negf %in : f32
      %ex = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %den = arith.addf %ex, %one : f32
      %sg = arith.divf %one, %den : f32
      %r = arith.mulf %in, %sg : f32
      linalg.yield %r : f32"""


def silu(s=16, h=72):
    return _activation("silu", s, h, SIGMOID_SILU, lambda x: x / (1 + np.exp(-x)), scale=6.0)


def gelu_erf(s=16, h=72):
    body = """      %half = arith.constant 0.5 : f32
      %one = arith.constant 1.0 : f32
      %rs2 = arith.constant 0.70710678118654757 : f32
      %a = arith.mulf %in, %rs2 : f32
      %ef = math.erf %a : f32
      %b = arith.addf %ef, %one : f32
      %c = arith.mulf %in, %half : f32
      %r = arith.mulf %c, %b : f32
      linalg.yield %r : f32"""
    erf = np.vectorize(math.erf)
    return _activation("gelu_erf", s, h, body, lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))))


def gelu_tanh(s=16, h=72):
    body = """      %half = arith.constant 0.5 : f32
      %one = arith.constant 1.0 : f32
      %k = arith.constant 0.79788456080286541 : f32
      %c3 = arith.constant 0.044715 : f32
      %x2 = arith.mulf %in, %in : f32
      %x3 = arith.mulf %x2, %in : f32
      %t = arith.mulf %x3, %c3 : f32
      %u = arith.addf %in, %t : f32
      %v = arith.mulf %u, %k : f32
      %th = math.tanh %v : f32
      %b = arith.addf %th, %one : f32
      %c = arith.mulf %in, %half : f32
      %r = arith.mulf %c, %b : f32
      linalg.yield %r : f32"""
    return _activation("gelu_tanh", s, h, body,
                       lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))))


def _matmul(res, a, b, m, k, n, init="%mz"):
    return (f"    {res} = linalg.matmul ins({a}, {b} : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>)"
            f" outs({init} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>\n")


def swiglu_mlp(s=16, h=64, inter=96):
    """LlamaMLP: down(silu(x @ Wg) * (x @ Wu)) with a residual add, as torch-mlir emits it."""
    T, I2 = f"tensor<{s}x{h}xf32>", f"tensor<{s}x{inter}xf32>"
    ID2, PAR2 = "affine_map<(d0, d1) -> (d0, d1)>", '["parallel", "parallel"]'
    body = (f"""    %ei = tensor.empty() : {I2}
    %mz = linalg.fill ins(%zero : f32) outs(%ei : {I2}) -> {I2}
    %eh = tensor.empty() : {T}
    %hz = linalg.fill ins(%zero : f32) outs(%eh : {T}) -> {T}
""" + _matmul("%g", "%x", "%wg", s, h, inter) + _matmul("%u", "%x", "%wu", s, h, inter)
        + f"""    %a = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = {PAR2}}} ins(%g : {I2}) outs(%ei : {I2}) {{
    ^bb0(%in: f32, %out: f32):
{SIGMOID_SILU}
    }} -> {I2}
    %p = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = {PAR2}}} ins(%a, %u : {I2}, {I2}) outs(%ei : {I2}) {{
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %r = arith.mulf %in, %in_1 : f32
      linalg.yield %r : f32
    }} -> {I2}
""" + _matmul("%d", "%p", "%wd", s, inter, h, "%hz") + f"""    %y = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = {PAR2}}} ins(%x, %d : {T}, {T}) outs(%eh : {T}) {{
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %r = arith.addf %in, %in_1 : f32
      linalg.yield %r : f32
    }} -> {T}
""")
    text = _func("swiglu_mlp", f"%x: {T}, %wg: tensor<{h}x{inter}xf32>, %wu: tensor<{h}x{inter}xf32>, "
                 f"%wd: tensor<{inter}x{h}xf32>", T, body, "%y")
    r = _rng()
    x = r.standard_normal((s, h)).astype(np.float32)
    wg, wu = (r.standard_normal((h, inter)) / math.sqrt(h)).astype(np.float32), \
        (r.standard_normal((h, inter)) / math.sqrt(h)).astype(np.float32)
    wd = (r.standard_normal((inter, h)) / math.sqrt(inter)).astype(np.float32)
    x64 = x.astype(np.float64)
    g, u = x64 @ wg, x64 @ wu
    ref = x64 + ((g / (1 + np.exp(-g))) * u) @ wd
    return text, [x, wg, wu, wd], [ref.astype(np.float32)]


def linear_bias_residual(s=16, k=64, n=80):
    """y = x @ W + b + r: a bias add (broadcast row vector) and a residual add after a matmul."""
    T, O = f"tensor<{s}x{k}xf32>", f"tensor<{s}x{n}xf32>"
    ID2, PAR2 = "affine_map<(d0, d1) -> (d0, d1)>", '["parallel", "parallel"]'
    ROW = "affine_map<(d0, d1) -> (d1)>"
    body = (f"""    %eo = tensor.empty() : {O}
    %mz = linalg.fill ins(%zero : f32) outs(%eo : {O}) -> {O}
""" + _matmul("%m", "%x", "%w", s, k, n) + f"""    %bb = linalg.generic {{indexing_maps = [{ID2}, {ROW}, {ID2}], iterator_types = {PAR2}}} ins(%m, %b : {O}, tensor<{n}xf32>) outs(%eo : {O}) {{
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %r = arith.addf %in, %in_1 : f32
      linalg.yield %r : f32
    }} -> {O}
    %y = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = {PAR2}}} ins(%bb, %res : {O}, {O}) outs(%eo : {O}) {{
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %r = arith.addf %in, %in_1 : f32
      linalg.yield %r : f32
    }} -> {O}
""")
    text = _func("linear_bias_residual", f"%x: {T}, %w: tensor<{k}x{n}xf32>, %b: tensor<{n}xf32>, %res: {O}",
                 O, body, "%y")
    r = _rng()
    x, w = r.standard_normal((s, k)).astype(np.float32), r.standard_normal((k, n)).astype(np.float32)
    b, res = r.standard_normal(n).astype(np.float32), r.standard_normal((s, n)).astype(np.float32)
    return text, [x, w, b, res], [(x.astype(np.float64) @ w + b + res).astype(np.float32)]


def embedding(s=13, vocab=50, h=40):
    """torch-mlir's aten.embedding: index_cast of i64 ids, then tensor.extract from the table."""
    T = f"tensor<1x{s}x{h}xf32>"
    body = f"""    %e = tensor.empty() : {T}
    %y = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, {ID3}], iterator_types = {PAR3}}} ins(%ids : tensor<1x{s}xi64>) outs(%e : {T}) {{
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 2 : index
      %v = tensor.extract %table[%i, %j] : tensor<{vocab}x{h}xf32>
      linalg.yield %v : f32
    }} -> {T}
"""
    text = _func("embedding", f"%ids: tensor<1x{s}xi64>, %table: tensor<{vocab}x{h}xf32>", T, body, "%y")
    r = _rng()
    ids = r.integers(0, vocab, (1, s)).astype(np.int64)
    table = r.standard_normal((vocab, h)).astype(np.float32)
    return text, [ids, table], [table[ids]]


def mask_arithmetic(s=16, t=24):
    """An i64 attention mask (1 keep, 0 pad) and a causal i1 mask combined into an
    additive f32 mask, as transformers' _prepare_4d_causal_attention_mask does."""
    M, B = f"tensor<1x1x{s}x{t}xf32>", f"tensor<1x1x{s}x{t}xi1>"
    ID4 = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    MASK = "affine_map<(d0, d1, d2, d3) -> (d0, d3)>"
    PAR4 = '["parallel", "parallel", "parallel", "parallel"]'
    body = f"""    %eb = tensor.empty() : {B}
    %causal = linalg.generic {{indexing_maps = [{ID4}], iterator_types = {PAR4}}} outs(%eb : {B}) {{
    ^bb0(%out: i1):
      %i = linalg.index 2 : index
      %j = linalg.index 3 : index
      %off = arith.constant {t - s} : index
      %ii = arith.addi %i, %off : index
      %c = arith.cmpi ugt, %j, %ii : index
      linalg.yield %c : i1
    }} -> {B}
    %pad = linalg.generic {{indexing_maps = [{MASK}, {ID4}], iterator_types = {PAR4}}} ins(%am : tensor<1x{t}xi64>) outs(%eb : {B}) {{
    ^bb0(%in: i64, %out: i1):
      %c0 = arith.constant 0 : i64
      %c = arith.cmpi eq, %in, %c0 : i64
      linalg.yield %c : i1
    }} -> {B}
    %em = tensor.empty() : {M}
    %y = linalg.generic {{indexing_maps = [{ID4}, {ID4}, {ID4}], iterator_types = {PAR4}}} ins(%causal, %pad : {B}, {B}) outs(%em : {M}) {{
    ^bb0(%in: i1, %in_1: i1, %out: f32):
      %o = arith.ori %in, %in_1 : i1
      %neg = arith.constant -3.40282347E+38 : f32
      %r = arith.select %o, %neg, %zero : f32
      linalg.yield %r : f32
    }} -> {M}
"""
    text = _func("mask_arithmetic", f"%am: tensor<1x{t}xi64>", M, body, "%y")
    am = np.ones((1, t), np.int64)
    am[0, :5] = 0
    i, j = np.arange(s)[:, None], np.arange(t)[None, :]
    hidden = (j > i + (t - s)) | (am[0] == 0)[None, :]
    ref = np.where(hidden, np.float32(-3.40282347e38), np.float32(0))[None, None]
    return text, [am], [ref.astype(np.float32)]


def max_argmax_softmax(s=16, t=40):
    """torch-mlir's softmax: aten.max.dim as a two-result (value, index) generic
    whose index is never used, then sub-exp, keep-dim sum and divide."""
    T, R, RI = f"tensor<1x{s}x{t}xf32>", f"tensor<1x{s}x1xf32>", f"tensor<1x{s}x1xi64>"
    body = f"""    %ninf = arith.constant 0xFF800000 : f32
    %c0i = arith.constant 0 : i64
    %er = tensor.empty() : {R}
    %eri = tensor.empty() : {RI}
    %mf = linalg.fill ins(%ninf : f32) outs(%er : {R}) -> {R}
    %mi = linalg.fill ins(%c0i : i64) outs(%eri : {RI}) -> {RI}
    %mx:2 = linalg.generic {{indexing_maps = [{ID3}, {KEEP3}, {KEEP3}], iterator_types = {RED3}}} ins(%x : {T}) outs(%mf, %mi : {R}, {RI}) {{
    ^bb0(%in: f32, %out: f32, %out_1: i64):
      %k = linalg.index 2 : index
      %ki = arith.index_cast %k : index to i64
      %m = arith.maximumf %in, %out : f32
      %gt = arith.cmpf ogt, %in, %out : f32
      %idx = arith.select %gt, %ki, %out_1 : i64
      linalg.yield %m, %idx : f32, i64
    }} -> ({R}, {RI})
    %e = tensor.empty() : {T}
""" + _map2("%ex", (T, R, T, "f32", "f32", "f32"), "%x", "%mx#0", "%e",
            "      %d = arith.subf %in, %in_1 : f32\n      %r = math.exp %d : f32\n      linalg.yield %r : f32",
            [ID3, KEEP3, ID3]) + f"""    %z = linalg.fill ins(%zero : f32) outs(%er : {R}) -> {R}
""" + _map1("%sum", (T, R, "f32", "f32"), "%ex", "%z",
            "      %r = arith.addf %in, %out : f32\n      linalg.yield %r : f32", [ID3, KEEP3], RED3) \
        + _map2("%y", (T, R, T, "f32", "f32", "f32"), "%ex", "%sum", "%e",
                "      %r = arith.divf %in, %in_1 : f32\n      linalg.yield %r : f32", [ID3, KEEP3, ID3])
    text = _func("max_argmax_softmax", f"%x: {T}", T, body, "%y")
    x = (_rng().standard_normal((1, s, t)) * 4).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    return text, [x], [(e / e.sum(-1, keepdims=True)).astype(np.float32)]


def max_argmax_both_used(s=8, t=24):
    """aten.max.dim with both results returned: nothing may be dropped."""
    R, RI, T = f"tensor<{s}x1xf32>", f"tensor<{s}x1xi64>", f"tensor<{s}x{t}xf32>"
    body = f"""    %ninf = arith.constant 0xFF800000 : f32
    %c0i = arith.constant 0 : i64
    %er = tensor.empty() : {R}
    %eri = tensor.empty() : {RI}
    %mf = linalg.fill ins(%ninf : f32) outs(%er : {R}) -> {R}
    %mi = linalg.fill ins(%c0i : i64) outs(%eri : {RI}) -> {RI}
    %mx:2 = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}} ins(%x : {T}) outs(%mf, %mi : {R}, {RI}) {{
    ^bb0(%in: f32, %out: f32, %out_1: i64):
      %k = linalg.index 1 : index
      %ki = arith.index_cast %k : index to i64
      %m = arith.maximumf %in, %out : f32
      %gt = arith.cmpf ogt, %in, %out : f32
      %idx = arith.select %gt, %ki, %out_1 : i64
      linalg.yield %m, %idx : f32, i64
    }} -> ({R}, {RI})
"""
    text = (f"module {{\n  func.func @max_argmax(%x: {T}) -> ({R}, {RI}) {{\n"
            f"{body}    return %mx#0, %mx#1 : {R}, {RI}\n  }}\n}}\n")
    x = _rng().standard_normal((s, t)).astype(np.float32)
    return text, [x], [x.max(-1, keepdims=True), x.argmax(-1)[:, None].astype(np.int64)]


def zero_rows(h=8):
    """An RMSNorm over zero rows (`tensor<1x0x8xf32>`): an empty result."""
    return rms_norm(s=0, h=h)


def zero_size_matmul_head(k=8):
    """A zero-size attention head: `tensor<0x8xf32>` scores and a softmax over no rows."""
    text = f"""module {{
  func.func @zero_head(%q: tensor<0x{k}xf32>, %kt: tensor<{k}x16xf32>) -> tensor<0x16xf32> {{
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<0x16xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<0x16xf32>) -> tensor<0x16xf32>
    %s = linalg.matmul ins(%q, %kt : tensor<0x{k}xf32>, tensor<{k}x16xf32>) outs(%z : tensor<0x16xf32>) -> tensor<0x16xf32>
    %p = linalg.softmax dimension(1) ins(%s : tensor<0x16xf32>) outs(%e : tensor<0x16xf32>) -> tensor<0x16xf32>
    return %p : tensor<0x16xf32>
  }}
}}
"""
    r = _rng()
    return text, [np.zeros((0, k), np.float32), r.standard_normal((k, 16)).astype(np.float32)], \
        [np.zeros((0, 16), np.float32)]


def rotary_selects(s=16, h=4, d=32):
    """The fused rotary generic: out = x * cos + select(j < d/2, -x[j + d/2], x[j - d/2]) * sin,
    reading the other half with `tensor.extract` at an index computed from `linalg.index`."""
    X, C = f"tensor<1x{h}x{s}x{d}xf32>", f"tensor<{s}x{d}xf32>"
    ID4 = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    CS = "affine_map<(d0, d1, d2, d3) -> (d2, d3)>"
    half = d // 2
    body = f"""    %e = tensor.empty() : {X}
    %y = linalg.generic {{indexing_maps = [{ID4}, {CS}, {CS}, {ID4}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}} ins(%x, %cos, %sin : {X}, {C}, {C}) outs(%e : {X}) {{
    ^bb0(%in: f32, %c: f32, %sn: f32, %out: f32):
      %i0 = linalg.index 0 : index
      %i1 = linalg.index 1 : index
      %i2 = linalg.index 2 : index
      %i3 = linalg.index 3 : index
      %hf = arith.constant {half} : index
      %lo = arith.cmpi ult, %i3, %hf : index
      %up = arith.addi %i3, %hf : index
      %dn = arith.subi %i3, %hf : index
      %j = arith.select %lo, %up, %dn : index
      %o = tensor.extract %x[%i0, %i1, %i2, %j] : {X}
      %no = arith.negf %o : f32
      %rot = arith.select %lo, %no, %o : f32
      %a = arith.mulf %in, %c : f32
      %b = arith.mulf %rot, %sn : f32
      %r = arith.addf %a, %b : f32
      linalg.yield %r : f32
    }} -> {X}
"""
    text = _func("rotary", f"%x: {X}, %cos: {C}, %sin: {C}", X, body, "%y")
    r = _rng()
    x = r.standard_normal((1, h, s, d)).astype(np.float32)
    ang = np.arange(s)[:, None] * (1e-2 ** (np.arange(d) % half / half))[None, :]
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
    return text, [x, cos, sin], [(x * cos + rot * sin).astype(np.float32)]


CASES = {f.__name__: f for f in (rms_norm, layer_norm, silu, gelu_erf, gelu_tanh, swiglu_mlp,
                                 linear_bias_residual, embedding, mask_arithmetic, max_argmax_softmax,
                                 max_argmax_both_used, zero_rows, zero_size_matmul_head, rotary_selects)}


def decoder_layer(s=16, h=64, heads=4, inter=96, eps=1e-6):
    """A Llama-style decoder layer without rotary (tested on its own): RMSNorm,
    Q/K/V projections, causal softmax attention per head, output projection,
    residual add, RMSNorm, SwiGLU MLP, residual add; weights are arguments."""
    d = h // heads
    T3, T2 = f"tensor<1x{s}x{h}xf32>", f"tensor<{s}x{h}xf32>"
    H3, S3 = f"tensor<{heads}x{s}x{d}xf32>", f"tensor<{heads}x{s}x{s}xf32>"
    ID2, PAR2 = "affine_map<(d0, d1) -> (d0, d1)>", '["parallel", "parallel"]'
    SPLIT = "affine_map<(d0, d1, d2) -> (d1, d0, d2)>"
    ROWS = "affine_map<(d0, d1, d2) -> (d0, d1)>"
    I2 = f"tensor<{s}x{inter}xf32>"

    def heads_of(src, dst):
        return (f"    %{dst}x = tensor.expand_shape {src} [[0], [1, 2]] output_shape [{s}, {heads}, {d}]"
                f" : {T2} into tensor<{s}x{heads}x{d}xf32>\n"
                f"    %{dst} = linalg.generic {{indexing_maps = [{SPLIT}, {ID3}], iterator_types = {PAR3}}}"
                f" ins(%{dst}x : tensor<{s}x{heads}x{d}xf32>) outs(%eh3 : {H3}) {{\n"
                f"    ^bb0(%in: f32, %out: f32):\n      linalg.yield %in : f32\n    }} -> {H3}\n")

    def add2(res, a, b, t):
        return (f"    {res} = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = {PAR2}}}"
                f" ins({a}, {b} : {t}, {t}) outs(%e2 : {t}) {{\n"
                f"    ^bb0(%in: f32, %in_1: f32, %out: f32):\n      %r = arith.addf %in, %in_1 : f32\n"
                f"      linalg.yield %r : f32\n    }} -> {t}\n")

    scale = 1.0 / math.sqrt(d)
    body = (rms_norm_body("%x", "%w1", s, h, eps, "a")
            + f"""    %e2 = tensor.empty() : {T2}
    %mz = linalg.fill ins(%zero : f32) outs(%e2 : {T2}) -> {T2}
    %xa = tensor.collapse_shape %a6 [[0, 1], [2]] : {T3} into {T2}
    %x2 = tensor.collapse_shape %x [[0, 1], [2]] : {T3} into {T2}
""" + _matmul("%q", "%xa", "%wq", s, h, h) + _matmul("%k", "%xa", "%wk", s, h, h)
            + _matmul("%v", "%xa", "%wv", s, h, h)
            + f"    %eh3 = tensor.empty() : {H3}\n" + heads_of("%q", "qh") + heads_of("%k", "kh") + heads_of("%v", "vh")
            + f"""    %ekt = tensor.empty() : tensor<{heads}x{d}x{s}xf32>
    %kt = linalg.transpose ins(%kh : {H3}) outs(%ekt : tensor<{heads}x{d}x{s}xf32>) permutation = [0, 2, 1]
    %es = tensor.empty() : {S3}
    %sz = linalg.fill ins(%zero : f32) outs(%es : {S3}) -> {S3}
    %sc = linalg.batch_matmul ins(%qh, %kt : {H3}, tensor<{heads}x{d}x{s}xf32>) outs(%sz : {S3}) -> {S3}
    %sm = linalg.generic {{indexing_maps = [{ID3}, {ID3}], iterator_types = {PAR3}}} ins(%sc : {S3}) outs(%es : {S3}) {{
    ^bb0(%in: f32, %out: f32):
      %i = linalg.index 1 : index
      %j = linalg.index 2 : index
      %c = arith.cmpi ugt, %j, %i : index
      %sv = arith.constant {scale:e} : f32
      %m = arith.mulf %in, %sv : f32
      %ninf = arith.constant -3.40282347E+38 : f32
      %r = arith.select %c, %ninf, %m : f32
      linalg.yield %r : f32
    }} -> {S3}
    %p = linalg.softmax dimension(2) ins(%sm : {S3}) outs(%es : {S3}) -> {S3}
    %oz = linalg.fill ins(%zero : f32) outs(%eh3 : {H3}) -> {H3}
    %o = linalg.batch_matmul ins(%p, %vh : {S3}, {H3}) outs(%oz : {H3}) -> {H3}
    %eo = tensor.empty() : tensor<{s}x{heads}x{d}xf32>
    %om = linalg.generic {{indexing_maps = [{ID3}, {SPLIT}], iterator_types = {PAR3}}} ins(%o : {H3}) outs(%eo : tensor<{s}x{heads}x{d}xf32>) {{
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }} -> tensor<{s}x{heads}x{d}xf32>
    %oc = tensor.collapse_shape %om [[0], [1, 2]] : tensor<{s}x{heads}x{d}xf32> into {T2}
""" + _matmul("%op", "%oc", "%wo", s, h, h) + add2("%h1", "%x2", "%op", T2)
            + f"    %h13 = tensor.expand_shape %h1 [[0, 1], [2]] output_shape [1, {s}, {h}] : {T2} into {T3}\n"
            + rms_norm_body("%h13", "%w2", s, h, eps, "b")
            + f"""    %xb = tensor.collapse_shape %b6 [[0, 1], [2]] : {T3} into {T2}
    %ei = tensor.empty() : {I2}
    %iz = linalg.fill ins(%zero : f32) outs(%ei : {I2}) -> {I2}
""" + _matmul("%g", "%xb", "%wg", s, h, inter, "%iz") + _matmul("%u", "%xb", "%wu", s, h, inter, "%iz")
            + f"""    %act = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = {PAR2}}} ins(%g : {I2}) outs(%ei : {I2}) {{
    ^bb0(%in: f32, %out: f32):
{SIGMOID_SILU}
    }} -> {I2}
    %gu = linalg.generic {{indexing_maps = [{ID2}, {ID2}, {ID2}], iterator_types = {PAR2}}} ins(%act, %u : {I2}, {I2}) outs(%ei : {I2}) {{
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %r = arith.mulf %in, %in_1 : f32
      linalg.yield %r : f32
    }} -> {I2}
""" + _matmul("%dn", "%gu", "%wd", s, inter, h) + add2("%h2", "%h1", "%dn", T2)
            + f"    %y = tensor.expand_shape %h2 [[0, 1], [2]] output_shape [1, {s}, {h}] : {T2} into {T3}\n")
    args = (f"%x: {T3}, %w1: tensor<{h}xf32>, %wq: tensor<{h}x{h}xf32>, %wk: tensor<{h}x{h}xf32>, "
            f"%wv: tensor<{h}x{h}xf32>, %wo: tensor<{h}x{h}xf32>, %w2: tensor<{h}xf32>, "
            f"%wg: tensor<{h}x{inter}xf32>, %wu: tensor<{h}x{inter}xf32>, %wd: tensor<{inter}x{h}xf32>")
    text = _func("decoder_layer", args, T3, body, "%y")
    r = _rng()
    x = r.standard_normal((1, s, h)).astype(np.float32)

    def w(*shape):
        return (r.standard_normal(shape) / math.sqrt(shape[0])).astype(np.float32)

    w1, w2 = (1 + 0.1 * r.standard_normal(h)).astype(np.float32), (1 + 0.1 * r.standard_normal(h)).astype(np.float32)
    wq, wk, wv, wo, wg, wu, wd = w(h, h), w(h, h), w(h, h), w(h, h), w(h, inter), w(h, inter), w(inter, h)
    x64 = x[0].astype(np.float64)
    a = rms_norm_ref(x64, w1, eps).astype(np.float64)
    q, k, v = ((a @ m).reshape(s, heads, d).transpose(1, 0, 2) for m in (wq, wk, wv))
    sc = q @ k.transpose(0, 2, 1) * scale
    sc = np.where(np.triu(np.ones((s, s), bool), 1)[None], -np.inf, sc)
    p = np.exp(sc - sc.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    h1 = x64 + (p @ v).transpose(1, 0, 2).reshape(s, h) @ wo
    b = rms_norm_ref(h1, w2, eps).astype(np.float64)
    g, u = b @ wg, b @ wu
    y = h1 + ((g / (1 + np.exp(-g))) * u) @ wd
    return text, [x, w1, wq, wk, wv, wo, w2, wg, wu, wd], [y[None].astype(np.float32)]


CASES["decoder_layer"] = decoder_layer


def two_norms_around_matmul(s=16, h=64, eps=1e-6):
    """RMSNorm, a matmul, RMSNorm: two row groups in one function (a refused
    first group once left the second one pointing at erased ops)."""
    T, T2 = f"tensor<1x{s}x{h}xf32>", f"tensor<{s}x{h}xf32>"
    mm = f"""    %c = tensor.collapse_shape %a6 [[0, 1], [2]] : {T} into {T2}
    %me = tensor.empty() : {T2}
    %mz = linalg.fill ins(%zero : f32) outs(%me : {T2}) -> {T2}
""" + _matmul("%mm", "%c", "%wm", s, h, h) + \
        f"    %ex = tensor.expand_shape %mm [[0, 1], [2]] output_shape [1, {s}, {h}] : {T2} into {T}\n"
    body = rms_norm_body("%x", "%w", s, h, eps, "a") + mm + rms_norm_body("%ex", "%w", s, h, eps, "b")
    text = _func("two_norms", f"%x: {T}, %w: tensor<{h}xf32>, %wm: tensor<{h}x{h}xf32>", T, body, "%b6")
    r = _rng()
    x = r.standard_normal((1, s, h)).astype(np.float32)
    w = r.standard_normal(h).astype(np.float32)
    wm = (r.standard_normal((h, h)) / math.sqrt(h)).astype(np.float32)
    mid = rms_norm_ref(x, w, eps)[0].astype(np.float64) @ wm
    return text, [x, w, wm], [rms_norm_ref(mid[None], w, eps)]


def embedding_with_checks(s=8, vocab=64, h=32):
    """aten.embedding as torch-mlir emits it in models: index checks (`cf.assert`)
    in the body, which the vectoriser refuses (the op falls back to loops)."""
    T = f"tensor<1x{s}x{h}xf32>"
    body = f"""    %e = tensor.empty() : {T}
    %y = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, {ID3}], iterator_types = {PAR3}}} ins(%ids : tensor<1x{s}xi64>) outs(%e : {T}) {{
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 2 : index
      %cv = arith.constant {vocab} : index
      %lt = arith.cmpi slt, %i, %cv : index
      cf.assert %lt, "index must be smaller than dim size"
      %c0 = arith.constant 0 : i64
      %ge = arith.cmpi sge, %in, %c0 : i64
      cf.assert %ge, "index must be larger or equal to 0"
      %v = tensor.extract %table[%i, %j] : tensor<{vocab}x{h}xf32>
      linalg.yield %v : f32
    }} -> {T}
"""
    text = _func("embedding_with_checks", f"%ids: tensor<1x{s}xi64>, %table: tensor<{vocab}x{h}xf32>", T,
                 body, "%y")
    r = _rng()
    ids = r.integers(0, vocab, (1, s)).astype(np.int64)
    table = r.standard_normal((vocab, h)).astype(np.float32)
    return text, [ids, table], [table[ids]]


CASES["two_norms_around_matmul"] = two_norms_around_matmul
CASES["embedding_with_checks"] = embedding_with_checks
