"""Benchmark workloads: attention kernels written as MLIR text by Python builders.

Each workload is linalg-on-tensors MLIR (weights as function arguments, or as
constants for `layer`), its seeded inputs, a float64 numpy reference, and its
FLOP count (and, for decode, the bytes it must read). The same text
is what attn-mlir and IREE compile; numpy and PyTorch run the same math
(bench/peers.py).

* `head`: one head, out = softmax((x Wq)(x Wk)^T / sqrt(d_k)) (x Wv).
* `mha`: multi-head attention with Llama rotary embeddings on q and k (cos/sin
  tables as inputs), heads split by expand_shape + transpose, batched
  matmuls, and the output projection.
* `decode`: one new token attending to a KV cache of `cache` positions passed
  as inputs; the new key/value are appended with `tensor.concat`.
* `decoder`, `decoder_step`: a Llama decoder layer (RMSNorm, RoPE, causal
  attention, SwiGLU, residuals; constant weights) and its decode step against a
  KV cache given as inputs (bench/decoder.py).
* `layer`: the Llama attention layer of bench/rope_layer.py (torch-mlir form,
  weights and cos/sin as `arith.constant`); peers get the same constants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..reference import softmax


@dataclass
class Workload:
    name: str
    kind: str                  # head | mha | decode | layer
    params: dict
    flops: int
    build: Callable[[], str] = field(repr=False, default=str)  # the MLIR text, built on demand
    entry: str = "main"
    bytes: int = 0             # bytes a call must read (memory-bound workloads: decode)

    @property
    def text(self) -> str:
        return self.build()

    def inputs(self, seed: int = 0) -> list[np.ndarray]:
        return INPUTS[self.kind](self.params, np.random.default_rng(seed))

    def constants(self) -> list[np.ndarray]:
        """Constant weights baked into the MLIR, in the peers' layout (see peers.py)."""
        return CONSTANTS[self.kind](self.params) if self.kind in CONSTANTS else []

    def reference(self, inputs: list[np.ndarray]) -> np.ndarray:
        return REFERENCES[self.kind](self.params, inputs)


def tensor_t(*shape) -> str:
    return "tensor<" + "x".join(str(s) for s in shape) + "xf32>"


# ---------------------------------------------------------------- one head

def attention_core(s: int, k: int, out_init: str) -> str:
    """`%o = softmax(%scale * %q %k^T) %v` for %q/%k/%v of type [s, k] (MLIR lines;
    %zero and %scale must be defined, `out_init` is a zero [s, k] tensor)."""
    return f"""  %et = tensor.empty() : {tensor_t(k, s)}
  %kt = linalg.transpose ins(%k : {tensor_t(s, k)}) outs(%et : {tensor_t(k, s)}) permutation = [1, 0]
  %es = tensor.empty() : {tensor_t(s, s)}
  %zs = linalg.fill ins(%zero : f32) outs(%es : {tensor_t(s, s)}) -> {tensor_t(s, s)}
  %sc = linalg.matmul ins(%q, %kt : {tensor_t(s, k)}, {tensor_t(k, s)}) outs(%zs : {tensor_t(s, s)}) -> {tensor_t(s, s)}
  %scaled = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%sc : {tensor_t(s, s)}) outs(%es : {tensor_t(s, s)}) {{
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %scale : f32
    linalg.yield %m : f32
  }} -> {tensor_t(s, s)}
  %p = linalg.softmax dimension(1) ins(%scaled : {tensor_t(s, s)}) outs(%es : {tensor_t(s, s)}) -> {tensor_t(s, s)}
  %o = linalg.matmul ins(%p, %v : {tensor_t(s, s)}, {tensor_t(s, k)}) outs({out_init} : {tensor_t(s, k)}) -> {tensor_t(s, k)}
"""


def head_text(seq: int, d_model: int, d_k: int) -> str:
    s, d, k = seq, d_model, d_k
    scale = float(1.0 / np.sqrt(d_k))
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: {tensor_t(s, d)}, %wq: {tensor_t(d, k)}, %wk: {tensor_t(d, k)}, %wv: {tensor_t(d, k)}) -> {tensor_t(s, k)} {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant {scale!r} : f32
  %e = tensor.empty() : {tensor_t(s, k)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {tensor_t(s, k)}) -> {tensor_t(s, k)}
  %q = linalg.matmul ins(%x, %wq : {tensor_t(s, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(s, k)}) -> {tensor_t(s, k)}
  %k = linalg.matmul ins(%x, %wk : {tensor_t(s, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(s, k)}) -> {tensor_t(s, k)}
  %v = linalg.matmul ins(%x, %wv : {tensor_t(s, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(s, k)}) -> {tensor_t(s, k)}
{attention_core(s, k, "%z")}  return %o : {tensor_t(s, k)}
}}
"""


def _head_inputs(p, rng):
    d = p["d_model"]
    x = rng.standard_normal((p["seq"], d)).astype(np.float32)
    ws = [(rng.standard_normal((d, p["d_k"])) / np.sqrt(d)).astype(np.float32) for _ in range(3)]
    return [x] + ws


def _head_reference(p, inputs):
    x, wq, wk, wv = (a.astype(np.float64) for a in inputs)
    q, k, v = x @ wq, x @ wk, x @ wv
    return softmax((q @ k.T) / np.sqrt(p["d_k"])) @ v


def head(name: str, seq: int, d_model: int, d_k: int) -> Workload:
    flops = 3 * 2 * seq * d_model * d_k + 2 * 2 * seq * seq * d_k
    return Workload(name, "head", dict(seq=seq, d_model=d_model, d_k=d_k), flops,
                    lambda: head_text(seq, d_model, d_k))


# ---------------------------------------------------------------- multi-head + rotary

def mha_text(seq: int, d_model: int, heads: int) -> str:
    s, d, h = seq, d_model, heads
    hd = d // h
    half = hd // 2
    scale = float(1.0 / np.sqrt(hd))
    hsd, shd = tensor_t(h, s, hd), tensor_t(s, h, hd)
    rope = "\n".join(f"""  %{n}3 = tensor.expand_shape %{n} [[0], [1, 2]] output_shape [{s}, {h}, {hd}] : {tensor_t(s, d)} into {shd}
  %{n}h = linalg.transpose ins(%{n}3 : {shd}) outs(%ehsd : {hsd}) permutation = [1, 0, 2]
  %{n}1 = tensor.extract_slice %{n}h[0, 0, 0] [{h}, {s}, {half}] [1, 1, 1] : {hsd} to {tensor_t(h, s, half)}
  %{n}2 = tensor.extract_slice %{n}h[0, 0, {half}] [{h}, {s}, {half}] [1, 1, 1] : {hsd} to {tensor_t(h, s, half)}
  %{n}2n = linalg.generic {{indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%{n}2 : {tensor_t(h, s, half)}) outs(%ehalf : {tensor_t(h, s, half)}) {{
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }} -> {tensor_t(h, s, half)}
  %{n}rot = tensor.concat dim(2) %{n}2n, %{n}1 : ({tensor_t(h, s, half)}, {tensor_t(h, s, half)}) -> {hsd}
  %{n}r = linalg.generic {{indexing_maps = [#id3, #id3, #sd, #sd, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%{n}h, %{n}rot, %cos, %sin : {hsd}, {hsd}, {tensor_t(s, hd)}, {tensor_t(s, hd)}) outs(%ehsd : {hsd}) {{
  ^bb0(%a: f32, %b: f32, %c: f32, %sn: f32, %out: f32):
    %ac = arith.mulf %a, %c : f32
    %bs = arith.mulf %b, %sn : f32
    %r = arith.addf %ac, %bs : f32
    linalg.yield %r : f32
  }} -> {hsd}""" for n in ("q", "k"))
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#sd = affine_map<(d0, d1, d2) -> (d1, d2)>
func.func @main(%x: {tensor_t(s, d)}, %wq: {tensor_t(d, d)}, %wk: {tensor_t(d, d)}, %wv: {tensor_t(d, d)}, %wo: {tensor_t(d, d)}, %cos: {tensor_t(s, hd)}, %sin: {tensor_t(s, hd)}) -> {tensor_t(s, d)} {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant {scale!r} : f32
  %e = tensor.empty() : {tensor_t(s, d)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {tensor_t(s, d)}) -> {tensor_t(s, d)}
  %q = linalg.matmul ins(%x, %wq : {tensor_t(s, d)}, {tensor_t(d, d)}) outs(%z : {tensor_t(s, d)}) -> {tensor_t(s, d)}
  %k = linalg.matmul ins(%x, %wk : {tensor_t(s, d)}, {tensor_t(d, d)}) outs(%z : {tensor_t(s, d)}) -> {tensor_t(s, d)}
  %v = linalg.matmul ins(%x, %wv : {tensor_t(s, d)}, {tensor_t(d, d)}) outs(%z : {tensor_t(s, d)}) -> {tensor_t(s, d)}
  %ehsd = tensor.empty() : {hsd}
  %ehalf = tensor.empty() : {tensor_t(h, s, half)}
{rope}
  %v3 = tensor.expand_shape %v [[0], [1, 2]] output_shape [{s}, {h}, {hd}] : {tensor_t(s, d)} into {shd}
  %vh = linalg.transpose ins(%v3 : {shd}) outs(%ehsd : {hsd}) permutation = [1, 0, 2]
  %ekt = tensor.empty() : {tensor_t(h, hd, s)}
  %kt = linalg.transpose ins(%kr : {hsd}) outs(%ekt : {tensor_t(h, hd, s)}) permutation = [0, 2, 1]
  %ess = tensor.empty() : {tensor_t(h, s, s)}
  %zss = linalg.fill ins(%zero : f32) outs(%ess : {tensor_t(h, s, s)}) -> {tensor_t(h, s, s)}
  %sc = linalg.batch_matmul ins(%qr, %kt : {hsd}, {tensor_t(h, hd, s)}) outs(%zss : {tensor_t(h, s, s)}) -> {tensor_t(h, s, s)}
  %scaled = linalg.generic {{indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%sc : {tensor_t(h, s, s)}) outs(%ess : {tensor_t(h, s, s)}) {{
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %scale : f32
    linalg.yield %m : f32
  }} -> {tensor_t(h, s, s)}
  %p = linalg.softmax dimension(2) ins(%scaled : {tensor_t(h, s, s)}) outs(%ess : {tensor_t(h, s, s)}) -> {tensor_t(h, s, s)}
  %zo = linalg.fill ins(%zero : f32) outs(%ehsd : {hsd}) -> {hsd}
  %o = linalg.batch_matmul ins(%p, %vh : {tensor_t(h, s, s)}, {hsd}) outs(%zo : {hsd}) -> {hsd}
  %eshd = tensor.empty() : {shd}
  %os = linalg.transpose ins(%o : {hsd}) outs(%eshd : {shd}) permutation = [1, 0, 2]
  %o2 = tensor.collapse_shape %os [[0], [1, 2]] : {shd} into {tensor_t(s, d)}
  %out = linalg.matmul ins(%o2, %wo : {tensor_t(s, d)}, {tensor_t(d, d)}) outs(%z : {tensor_t(s, d)}) -> {tensor_t(s, d)}
  return %out : {tensor_t(s, d)}
}}
"""


def rope_tables(seq: int, head_dim: int, base: float = 10000.0):
    inv = 1.0 / base ** (np.arange(0, head_dim, 2) / head_dim)
    angles = np.outer(np.arange(seq), inv)
    angles = np.concatenate([angles, angles], axis=1)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def _mha_inputs(p, rng):
    s, d = p["seq"], p["d_model"]
    x = rng.standard_normal((s, d)).astype(np.float32)
    ws = [(rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32) for _ in range(4)]
    cos, sin = rope_tables(s, d // p["heads"])
    return [x] + ws + [cos, sin]


def _rotate_half(t):
    half = t.shape[-1] // 2
    return np.concatenate([-t[..., half:], t[..., :half]], axis=-1)


def _mha_reference(p, inputs):
    x, wq, wk, wv, wo, cos, sin = (a.astype(np.float64) for a in inputs)
    s, d, h = p["seq"], p["d_model"], p["heads"]
    split = lambda t: t.reshape(s, h, d // h).transpose(1, 0, 2)  # noqa: E731
    q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
    q = q * cos + _rotate_half(q) * sin
    k = k * cos + _rotate_half(k) * sin
    o = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(d // h)) @ v
    return o.transpose(1, 0, 2).reshape(s, d) @ wo


def mha(name: str, seq: int, d_model: int, heads: int) -> Workload:
    hd = d_model // heads
    flops = 4 * 2 * seq * d_model * d_model + 2 * 2 * heads * seq * seq * hd
    return Workload(name, "mha", dict(seq=seq, d_model=d_model, heads=heads), flops,
                    lambda: mha_text(seq, d_model, heads))


# ---------------------------------------------------------------- decode step

def decode_text(d_model: int, d_k: int, cache: int) -> str:
    d, k, c = d_model, d_k, cache
    t = c + 1
    scale = float(1.0 / np.sqrt(d_k))
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: {tensor_t(1, d)}, %wq: {tensor_t(d, k)}, %wk: {tensor_t(d, k)}, %wv: {tensor_t(d, k)}, %kc: {tensor_t(c, k)}, %vc: {tensor_t(c, k)}) -> {tensor_t(1, k)} {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant {scale!r} : f32
  %e = tensor.empty() : {tensor_t(1, k)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {tensor_t(1, k)}) -> {tensor_t(1, k)}
  %q = linalg.matmul ins(%x, %wq : {tensor_t(1, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(1, k)}) -> {tensor_t(1, k)}
  %kn = linalg.matmul ins(%x, %wk : {tensor_t(1, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(1, k)}) -> {tensor_t(1, k)}
  %vn = linalg.matmul ins(%x, %wv : {tensor_t(1, d)}, {tensor_t(d, k)}) outs(%z : {tensor_t(1, k)}) -> {tensor_t(1, k)}
  %kall = tensor.concat dim(0) %kc, %kn : ({tensor_t(c, k)}, {tensor_t(1, k)}) -> {tensor_t(t, k)}
  %vall = tensor.concat dim(0) %vc, %vn : ({tensor_t(c, k)}, {tensor_t(1, k)}) -> {tensor_t(t, k)}
  %et = tensor.empty() : {tensor_t(k, t)}
  %kt = linalg.transpose ins(%kall : {tensor_t(t, k)}) outs(%et : {tensor_t(k, t)}) permutation = [1, 0]
  %es = tensor.empty() : {tensor_t(1, t)}
  %zs = linalg.fill ins(%zero : f32) outs(%es : {tensor_t(1, t)}) -> {tensor_t(1, t)}
  %sc = linalg.matmul ins(%q, %kt : {tensor_t(1, k)}, {tensor_t(k, t)}) outs(%zs : {tensor_t(1, t)}) -> {tensor_t(1, t)}
  %scaled = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%sc : {tensor_t(1, t)}) outs(%es : {tensor_t(1, t)}) {{
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %scale : f32
    linalg.yield %m : f32
  }} -> {tensor_t(1, t)}
  %p = linalg.softmax dimension(1) ins(%scaled : {tensor_t(1, t)}) outs(%es : {tensor_t(1, t)}) -> {tensor_t(1, t)}
  %o = linalg.matmul ins(%p, %vall : {tensor_t(1, t)}, {tensor_t(t, k)}) outs(%z : {tensor_t(1, k)}) -> {tensor_t(1, k)}
  return %o : {tensor_t(1, k)}
}}
"""


def _decode_inputs(p, rng):
    d, k, c = p["d_model"], p["d_k"], p["cache"]
    x = rng.standard_normal((1, d)).astype(np.float32)
    ws = [(rng.standard_normal((d, k)) / np.sqrt(d)).astype(np.float32) for _ in range(3)]
    kc = rng.standard_normal((c, k)).astype(np.float32)
    vc = rng.standard_normal((c, k)).astype(np.float32)
    return [x] + ws + [kc, vc]


def _decode_reference(p, inputs):
    x, wq, wk, wv, kc, vc = (a.astype(np.float64) for a in inputs)
    q = x @ wq
    kall = np.concatenate([kc, x @ wk])
    vall = np.concatenate([vc, x @ wv])
    return softmax(q @ kall.T / np.sqrt(p["d_k"])) @ vall


def decode(name: str, d_model: int, d_k: int, cache: int) -> Workload:
    flops = 3 * 2 * d_model * d_k + 2 * 2 * (cache + 1) * d_k
    weights_and_cache = 4 * (3 * d_model * d_k + 2 * cache * d_k)
    return Workload(name, "decode", dict(d_model=d_model, d_k=d_k, cache=cache), flops,
                    lambda: decode_text(d_model, d_k, cache), bytes=weights_and_cache)


# ---------------------------------------------------------------- Llama attention layer

def _layer_weights(p):
    """The layer's q/k/v/o weights [out, in], as rope_layer.layer_mlir seeds them."""
    e = p["d_model"]
    rng = np.random.default_rng(p["seed"])
    return [(rng.standard_normal((e, e)) / np.sqrt(e)).astype(np.float32) for _ in range(4)]


def _layer_constants(p):
    """[in, out] weights and the cos/sin tables: the `mha` arrays after x."""
    cos, sin = rope_tables(p["seq"], p["d_model"] // p["heads"])
    return [np.ascontiguousarray(w.T) for w in _layer_weights(p)] + [cos, sin]


def _layer_inputs(p, rng):
    return [rng.standard_normal((1, p["seq"], p["d_model"])).astype(np.float32)]


def _layer_reference(p, inputs):
    x = inputs[0].reshape(p["seq"], p["d_model"])
    return _mha_reference(p, [x] + _layer_constants(p)).reshape(1, p["seq"], p["d_model"])


def layer(name: str, seq: int, d_model: int, heads: int, seed: int = 0) -> Workload:
    """Llama attention layer (RoPE, 16 heads, Wo) with its weights as MLIR constants,
    written the way torch-mlir exports it (bench/rope_layer.py)."""
    from .rope_layer import layer_mlir

    hd = d_model // heads
    flops = 4 * 2 * seq * d_model * d_model + 2 * 2 * heads * seq * seq * hd
    return Workload(name, "layer", dict(seq=seq, d_model=d_model, heads=heads, seed=seed), flops,
                    lambda: layer_mlir(seq, d_model, heads, seed=seed), entry="forward")


# ---------------------------------------------------------------- Llama decoder layer

def decoder_layer(name: str, seq: int, hidden: int, heads: int, inter: int,
                  context: int | None = None, seed: int = 0) -> Workload:
    """Llama decoder layer (bench/decoder.py): prefill over `seq` tokens (causal),
    or with `context`, one decode step against a KV cache given as inputs."""
    from . import decoder as dc

    p = dict(seq=seq, hidden=hidden, heads=heads, inter=inter, seed=seed)
    kind = "decoder"
    nbytes = 0
    if context is not None:
        p["context"] = context
        kind = "decoder_step"
        nbytes = 4 * (4 * hidden * hidden + 3 * hidden * inter + 2 * context * hidden)
    return Workload(name, kind, p, dc.flops(p), lambda: dc.mlir(p), bytes=nbytes)


def _decoder_inputs(p, rng):
    from . import decoder as dc

    return dc.inputs(p, rng)


def _decoder_reference(p, inputs):
    from . import decoder as dc

    return dc.reference(p, inputs)


def _decoder_constants(p):
    from . import decoder as dc

    return dc.constants(p)


INPUTS = {"head": _head_inputs, "mha": _mha_inputs, "decode": _decode_inputs,
          "layer": _layer_inputs, "decoder": _decoder_inputs, "decoder_step": _decoder_inputs}
REFERENCES = {"head": _head_reference, "mha": _mha_reference, "decode": _decode_reference,
              "layer": _layer_reference, "decoder": _decoder_reference,
              "decoder_step": _decoder_reference}
CONSTANTS = {"layer": _layer_constants, "decoder": _decoder_constants,
             "decoder_step": _decoder_constants}

SWEEP = (128, 256, 512, 1024, 2048, 4096, 8192)
QUICK_SWEEP = (128, 256, 512, 1024, 2048)


def catalogue(quick: bool = False) -> dict[str, Workload]:
    """All named workloads; `sweep` expands to one head per sequence length."""
    named = {
        "seed": head("seed", 4, 8, 8),
        "head512": head("head512", 512, 512, 64),
        "head_llama": head("head_llama", 1024, 4096, 128),
        "mha": mha("mha", 512, 1024, 16),
        "decode": decode("decode", 4096, 128, 2048),
        "llama_attn": layer("llama_attn", 512, 2048, 16),
        "llama_decoder": decoder_layer("llama_decoder", 512, 2048, 16, 5632),
        "llama_decode_step": decoder_layer("llama_decode_step", 1, 2048, 16, 5632, context=2048),
    }
    for s in (QUICK_SWEEP if quick else SWEEP):
        named[f"sweep{s}"] = head(f"sweep{s}", s, 512, 64)
    return named


def expand(names: list[str], quick: bool = False) -> list[Workload]:
    known = catalogue(quick)
    out = []
    for n in names:
        if n == "sweep":
            out += [w for k, w in known.items() if k.startswith("sweep")]
        elif n in known:
            out.append(known[n])
        else:
            raise SystemExit(f"unknown workload '{n}' (known: {', '.join(DEFAULT_WORKLOADS)}, "
                             "sweep, sweepN)")
    return out


DEFAULT_WORKLOADS = ("seed", "head512", "head_llama", "mha", "decode", "llama_attn", "llama_decoder",
                     "llama_decode_step", "sweep")
