"""Generated attention heads: MLIR text with constant weights, and their numpy reference.

`head_module(spec)` writes one `@head(%x: tensor<SxDxf32>)` function in the
style frontends emit (every elementwise step its own `linalg.generic`, scalars
captured from outside the body, softmax decomposed into max / sub-exp / sum /
div), with the variations the rewrites must handle: several heads
(expand_shape + transpose + batch_matmul), a scale on the scores (`* s`,
`/ d`, or split as `q * s^.5` and `k * s^.5`), K^T as an explicit
`linalg.transpose` or read through a matmul map, weights stored `[in, out]`
or `[out, in]` behind `linalg.transpose`, rotary embedding on q and k
(extract_slice halves, negf, concat, mul by cos/sin tables, add), an
optional output projection, and q/k/v from one fused product whose columns
interleave per head (GPT-NeoX: the `[S, H, 3, dk]` view, sliced after the
heads transpose).
`head_reference(spec, x)` computes the same head in float64 numpy.

Property tests draw `HeadSpec`s; new variations (grouped K/V heads, ...) add a
field here and a branch in both functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALES = (None, "mul", "div", "split")
ROW_MAXES = ("maximumf", "cmp_select")
NORMALISATIONS = ("div", "reciprocal")
MASKS = (None, "fill", "bias")


@dataclass(frozen=True)
class HeadSpec:
    seq: int
    d_model: int
    d_k: int
    heads: int = 1
    scale: str | None = None        # None, "mul" (S * s), "div" (S / d), "split" (q, k * s^.5)
    k_transposed: bool = True       # K^T as linalg.transpose (else a transposed matmul map)
    weights_out_in: bool = False    # weights as constants [out, in] behind linalg.transpose
    out_proj: bool = False          # a final x @ Wo
    rotary: bool = False            # RoPE on q and k (applied only when d_k is even)
    seed: int = 0
    # Spellings of the same head (attn-raise must see through all of them):
    scale_f64: bool = False         # the scale an f64 constant truncated in the body (torch-mlir)
    row_max: str = "maximumf"       # or "cmp_select": cmpf ogt + select
    normalise: str = "div"          # or "reciprocal": e * (1 / sum) via a separate generic
    mask: str | None = None         # causal mask: "fill" (masked_fill select on the scores,
    #                                 from linalg.index), "bias" (an index-built [S, S] bias
    #                                 added, broadcast over heads)
    interleaved_qkv: bool = False   # one x @ W, W's columns [h, {q, k, v}, dk] (GPT-NeoX)

    @property
    def has_rotary(self) -> bool:
        return self.rotary and self.d_k % 2 == 0

    @property
    def width(self) -> int:
        return self.heads * self.d_k

    @property
    def softmax_scale(self) -> float:
        return 1.0 / math.sqrt(self.d_k) if self.scale else 1.0

    def weights(self) -> dict[str, np.ndarray]:
        """Wq, Wk, Wv as [d_model, width] and Wo as [width, d_model], seeded."""
        rng = np.random.default_rng(self.seed)
        w = {n: (rng.standard_normal((self.d_model, self.width)) / math.sqrt(self.d_model))
             .astype(np.float32) for n in ("wq", "wk", "wv")}
        w["wo"] = (rng.standard_normal((self.width, self.d_model)) / math.sqrt(self.width)) \
            .astype(np.float32)
        return w


def rope_tables(seq: int, d_k: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin [seq, d_k] of rotary embedding (HF Llama layout: halves repeated)."""
    inv_freq = 1.0 / (10000.0 ** (np.arange(0, d_k, 2) / d_k))
    angles = np.outer(np.arange(seq), inv_freq)
    emb = np.concatenate([angles, angles], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def rotate_half(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def _tensor(shape) -> str:
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def _dense(array: np.ndarray) -> str:
    def fmt(a):
        if a.ndim == 0:
            return f"{float(a):.9e}"
        return "[" + ", ".join(fmt(x) for x in a) + "]"

    return f"dense<{fmt(np.asarray(array, np.float32))}>"


def _id_map(rank: int) -> str:
    dims = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({dims}) -> ({dims})>"


def _drop_last_map(rank: int, keep_unit: bool = False) -> str:
    dims = [f"d{i}" for i in range(rank)]
    results = dims[:-1] + (["0"] if keep_unit else [])
    return f"affine_map<({', '.join(dims)}) -> ({', '.join(results)})>"


class _Writer:
    """SSA names and lines for one function body."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def fresh(self, hint: str = "v") -> str:
        self.count += 1
        return f"%{hint}{self.count}"

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def empty(self, shape) -> str:
        name = self.fresh("e")
        self.emit(f"{name} = tensor.empty() : {_tensor(shape)}")
        return name

    def fill(self, scalar: str, shape) -> str:
        name = self.fresh("z")
        t = _tensor(shape)
        empty = self.empty(shape)
        self.emit(f"{name} = linalg.fill ins({scalar} : f32) outs({empty} : {t}) -> {t}")
        return name

    def transpose(self, value: str, shape, permutation) -> tuple[str, list[int]]:
        out_shape = [shape[p] for p in permutation]
        name = self.fresh("t")
        self.emit(f"{name} = linalg.transpose ins({value} : {_tensor(shape)}) outs("
                  f"{self.empty(out_shape)} : {_tensor(out_shape)}) permutation = "
                  f"[{', '.join(map(str, permutation))}]")
        return name, out_shape

    def elementwise(self, inputs: list[tuple[str, list[int], str]], shape, body: list[str],
                    iterators: list[str] | None = None, out: str | None = None,
                    out_map: str | None = None) -> str:
        """A linalg.generic; `body` uses %a0, %a1, ... and yields its last line's %r."""
        rank = len(shape)
        name = self.fresh("g")
        out_shape = shape
        ins = ", ".join(v for v, _, _ in inputs)
        types = ", ".join(_tensor(s) for _, s, _ in inputs)
        maps = "".join(m + ", " for _, _, m in inputs)
        if out is None:
            out, out_t, out_map = self.empty(shape), _tensor(shape), _id_map(rank)
        else:
            out, out_shape = out
            out_t = _tensor(out_shape)
        quoted = ", ".join('"' + i + '"' for i in iterators or ["parallel"] * rank)
        args = "".join(f"%a{i}: f32, " for i in range(len(inputs))) + "%acc: f32"
        ins_clause = f"ins({ins} : {types}) " if inputs else ""
        self.emit(f"{name} = linalg.generic {{indexing_maps = [{maps}{out_map}], "
                  f"iterator_types = [{quoted}]}} "
                  f"{ins_clause}outs({out} : {out_t}) {{")
        self.emit(f"^bb0({args}):")
        for line in body:
            self.emit("  " + line)
        self.emit("  linalg.yield %r : f32")
        self.emit(f"}} -> {out_t}")
        return name


def head_module(spec: HeadSpec) -> str:
    """The head as MLIR text: `func.func @head(%x) -> tensor<S x (D or H*dk)>`."""
    s, d, dk, h, e = spec.seq, spec.d_model, spec.d_k, spec.heads, spec.width
    w = _Writer()
    weights = spec.weights()
    w.emit("%zero = arith.constant 0.000000e+00 : f32")
    w.emit("%ninf = arith.constant 0xFF800000 : f32")
    scalar_type, digits = ("f64", ".17e") if spec.scale_f64 else ("f32", ".9e")
    if spec.scale == "mul":
        w.emit(f"%scale = arith.constant {spec.softmax_scale:{digits}} : {scalar_type}")
    elif spec.scale == "div":
        w.emit(f"%scale = arith.constant {1.0 / spec.softmax_scale:{digits}} : {scalar_type}")
    elif spec.scale == "split":
        w.emit(f"%scale = arith.constant {math.sqrt(spec.softmax_scale):{digits}} : {scalar_type}")

    def project(value: str, in_shape, weight: np.ndarray) -> str:
        rows, (k, n) = in_shape[0], weight.shape
        if spec.weights_out_in:
            const = w.fresh("w")
            w.emit(f"{const} = arith.constant {_dense(weight.T)} : {_tensor([n, k])}")
            rhs, _ = w.transpose(const, [n, k], [1, 0])
        else:
            rhs = w.fresh("w")
            w.emit(f"{rhs} = arith.constant {_dense(weight)} : {_tensor([k, n])}")
        init = w.fill("%zero", [rows, n])
        name = w.fresh("p")
        w.emit(f"{name} = linalg.matmul ins({value}, {rhs} : {_tensor([rows, k])}, "
               f"{_tensor([k, n])}) "
               f"outs({init} : {_tensor([rows, n])}) -> {_tensor([rows, n])}")
        return name

    def scaled(value: str, shape) -> str:
        op = "divf" if spec.scale == "div" else "mulf"
        if spec.scale_f64:
            body = ["%c = arith.truncf %scale : f64 to f32", f"%r = arith.{op} %a0, %c : f32"]
        else:
            body = [f"%r = arith.{op} %a0, %scale : f32"]
        return w.elementwise([(value, shape, _id_map(len(shape)))], shape, body)

    heads_shape = [s, dk] if h == 1 else [h, s, dk]
    if spec.interleaved_qkv:
        parts = [weights[n].reshape(d, h, 1, dk) for n in ("wq", "wk", "wv")]
        fused = project("%x", [s, d], np.concatenate(parts, axis=2).reshape(d, 3 * e))
        expanded = w.fresh("x")
        w.emit(f"{expanded} = tensor.expand_shape {fused} [[0], [1, 2, 3]] output_shape "
               f"[{s}, {h}, 3, {dk}] : {_tensor([s, 3 * e])} into {_tensor([s, h, 3, dk])}")
        per_head, _ = w.transpose(expanded, [s, h, 3, dk], [1, 0, 2, 3])

        def take(part: int) -> str:
            name = w.fresh("qkv")
            w.emit(f"{name} = tensor.extract_slice {per_head}[0, 0, {part}, 0] [{h}, {s}, 1, "
                   f"{dk}] [1, 1, 1, 1] : {_tensor([h, s, 3, dk])} to {_tensor(heads_shape)}")
            return name

        q, k, v = take(0), take(1), take(2)
        if spec.scale == "split":
            q, k = scaled(q, heads_shape), scaled(k, heads_shape)
    else:
        q = project("%x", [s, d], weights["wq"])
        k = project("%x", [s, d], weights["wk"])
        v = project("%x", [s, d], weights["wv"])
        if spec.scale == "split":
            q, k = scaled(q, [s, e]), scaled(k, [s, e])

    if h > 1 and not spec.interleaved_qkv:

        def split_heads(value: str) -> str:
            expanded = w.fresh("x")
            w.emit(f"{expanded} = tensor.expand_shape {value} [[0], [1, 2]] output_shape "
                   f"[{s}, {h}, {dk}] : {_tensor([s, e])} into {_tensor([s, h, dk])}")
            return w.transpose(expanded, [s, h, dk], [1, 0, 2])[0]

        q, k, v = split_heads(q), split_heads(k), split_heads(v)

    if spec.has_rotary:
        cos, sin = rope_tables(s, dk)
        w.emit(f"%cos = arith.constant {_dense(cos)} : {_tensor([s, dk])}")
        w.emit(f"%sin = arith.constant {_dense(sin)} : {_tensor([s, dk])}")
        rank, half = len(heads_shape), dk // 2
        dims = ", ".join(f"d{i}" for i in range(rank))
        table_map = f"affine_map<({dims}) -> (d{rank - 2}, d{rank - 1})>"
        half_shape = heads_shape[:-1] + [half]

        def rotary(x: str) -> str:
            halves = []
            for offset in (0, half):
                name = w.fresh("h")
                offsets = ", ".join(["0"] * (rank - 1) + [str(offset)])
                sizes = ", ".join(map(str, half_shape))
                w.emit(f"{name} = tensor.extract_slice {x}[{offsets}] [{sizes}] "
                       f"[{', '.join(['1'] * rank)}] : {_tensor(heads_shape)} to "
                       f"{_tensor(half_shape)}")
                halves.append(name)
            neg = w.elementwise([(halves[1], half_shape, _id_map(rank))], half_shape,
                                ["%r = arith.negf %a0 : f32"])
            rot = w.fresh("rot")
            w.emit(f"{rot} = tensor.concat dim({rank - 1}) {neg}, {halves[0]} : "
                   f"({_tensor(half_shape)}, {_tensor(half_shape)}) -> {_tensor(heads_shape)}")
            idm = _id_map(rank)
            a = w.elementwise([(x, heads_shape, idm), ("%cos", [s, dk], table_map)], heads_shape,
                              ["%r = arith.mulf %a0, %a1 : f32"])
            b = w.elementwise([(rot, heads_shape, idm), ("%sin", [s, dk], table_map)],
                              heads_shape, ["%r = arith.mulf %a0, %a1 : f32"])
            return w.elementwise([(a, heads_shape, idm), (b, heads_shape, idm)], heads_shape,
                                 ["%r = arith.addf %a0, %a1 : f32"])

        q, k = rotary(q), rotary(k)

    matmul = "linalg.matmul" if h == 1 else "linalg.batch_matmul"
    scores_shape = heads_shape[:-1] + [s]
    init = w.fill("%zero", scores_shape)
    scores = w.fresh("s")
    if spec.k_transposed:
        perm = [1, 0] if h == 1 else [0, 2, 1]
        kt, kt_shape = w.transpose(k, heads_shape, perm)
        w.emit(f"{scores} = {matmul} ins({q}, {kt} : {_tensor(heads_shape)}, {_tensor(kt_shape)}) "
               f"outs({init} : {_tensor(scores_shape)}) -> {_tensor(scores_shape)}")
    else:
        if h == 1:
            maps = ("affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
                    "affine_map<(m, n, k) -> (m, n)>")
        else:
            maps = ("affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, "
                    "affine_map<(b, m, n, k) -> (b, m, n)>")
        w.emit(f"{scores} = {matmul} indexing_maps = [{maps}] ins({q}, {k} : "
               f"{_tensor(heads_shape)}, {_tensor(heads_shape)}) outs({init} : "
               f"{_tensor(scores_shape)}) -> {_tensor(scores_shape)}")
    if spec.scale in ("mul", "div"):
        scores = scaled(scores, scores_shape)
    if spec.mask:
        rank = len(scores_shape)
        causal = [f"%i = linalg.index {rank - 2} : index", f"%j = linalg.index {rank - 1} : index",
                  "%keep = arith.cmpi sle, %j, %i : index"]
        if spec.mask == "fill":
            scores = w.elementwise([(scores, scores_shape, _id_map(rank))], scores_shape,
                                   causal + ["%r = arith.select %keep, %a0, %ninf : f32"])
        else:
            bias = w.elementwise([], [s, s], [line.replace(f"index {rank - 2}", "index 0")
                                              .replace(f"index {rank - 1}", "index 1")
                                              for line in causal]
                                 + ["%r = arith.select %keep, %zero, %ninf : f32"])
            dims = ", ".join(f"d{i}" for i in range(rank))
            table = f"affine_map<({dims}) -> (d{rank - 2}, d{rank - 1})>"
            scores = w.elementwise([(scores, scores_shape, _id_map(rank)), (bias, [s, s], table)],
                                   scores_shape, ["%r = arith.addf %a0, %a1 : f32"])

    # Softmax over the last dim, decomposed as frontends emit it.
    rank = len(scores_shape)
    reduced = scores_shape[:-1]
    reduce_iters = ["parallel"] * (rank - 1) + ["reduction"]
    idm, drop = _id_map(rank), _drop_last_map(rank)
    max_body = (["%r = arith.maximumf %a0, %acc : f32"] if spec.row_max == "maximumf" else
                ["%gt = arith.cmpf ogt, %a0, %acc : f32", "%r = arith.select %gt, %a0, %acc : f32"])
    row_max = w.elementwise([(scores, scores_shape, idm)], scores_shape, max_body, reduce_iters,
                            out=(w.fill("%ninf", reduced), reduced), out_map=drop)
    exps = w.elementwise([(scores, scores_shape, idm), (row_max, reduced, drop)], scores_shape,
                         ["%m = arith.subf %a0, %a1 : f32", "%r = math.exp %m : f32"])
    row_sum = w.elementwise([(exps, scores_shape, idm)], scores_shape,
                            ["%r = arith.addf %a0, %acc : f32"], reduce_iters,
                            out=(w.fill("%zero", reduced), reduced), out_map=drop)
    if spec.normalise == "reciprocal":
        w.emit("%one = arith.constant 1.000000e+00 : f32")
        inverse = w.elementwise([(row_sum, reduced, _id_map(rank - 1))], reduced,
                                ["%r = arith.divf %one, %a0 : f32"])
        probs = w.elementwise([(exps, scores_shape, idm), (inverse, reduced, drop)],
                              scores_shape, ["%r = arith.mulf %a0, %a1 : f32"])
    else:
        probs = w.elementwise([(exps, scores_shape, idm), (row_sum, reduced, drop)],
                              scores_shape, ["%r = arith.divf %a0, %a1 : f32"])

    out = w.fresh("o")
    out_init = w.fill("%zero", heads_shape)
    w.emit(f"{out} = {matmul} ins({probs}, {v} : {_tensor(scores_shape)}, {_tensor(heads_shape)}) "
           f"outs({out_init} : {_tensor(heads_shape)}) -> {_tensor(heads_shape)}")
    if h > 1:
        merged, _ = w.transpose(out, heads_shape, [1, 0, 2])
        out = w.fresh("c")
        w.emit(f"{out} = tensor.collapse_shape {merged} [[0], [1, 2]] : {_tensor([s, h, dk])} "
               f"into {_tensor([s, e])}")
    result_shape = [s, e]
    if spec.out_proj:
        out = project(out, [s, e], weights["wo"])
        result_shape = [s, d]
    w.emit(f"return {out} : {_tensor(result_shape)}")
    header = f"func.func @head(%x: {_tensor([s, d])}) -> {_tensor(result_shape)} {{"
    return "\n".join([header] + w.lines + ["}"]) + "\n"


def head_reference(spec: HeadSpec, x: np.ndarray) -> np.ndarray:
    """The head in float64 numpy: softmax(scale * Q K^T) V per head (then @ Wo)."""
    w = {k: v.astype(np.float64) for k, v in spec.weights().items()}
    x = np.asarray(x, np.float64)
    s, h, dk = spec.seq, spec.heads, spec.d_k
    q, k, v = (np.transpose((x @ w[n]).reshape(s, h, dk), (1, 0, 2)) for n in ("wq", "wk", "wv"))
    if spec.has_rotary:
        cos, sin = (t.astype(np.float64) for t in rope_tables(s, dk))
        q, k = (t * cos + rotate_half(t) * sin for t in (q, k))
    scores = spec.softmax_scale * (q @ np.transpose(k, (0, 2, 1)))
    if spec.mask:
        scores = np.where(np.tril(np.ones((s, s), bool)), scores, -np.inf)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    out = np.transpose(probs @ v, (1, 0, 2)).reshape(s, h * dk)
    return out @ w["wo"] if spec.out_proj else out


__all__ = ["HeadSpec", "SCALES", "ROW_MAXES", "NORMALISATIONS", "MASKS", "head_module", "head_reference", "rope_tables", "rotate_half"]
