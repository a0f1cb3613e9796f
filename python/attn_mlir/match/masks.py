"""What an additive score bias means: index-built half planes and tensors read from outside.

    bias[.., i, j] = sum(float leaves) + (0 if all(conditions) else -inf)

`analyze_bias(value, dims)` reads the IR that computes `value` (read by the
score generic at loop dims `dims`) symbolically, never by evaluating it:

- integer index expressions (`linalg.index`, casts, `addi`/`subi`/`muli` by
  constants, reshapes and broadcasts of such iotas) are affine forms over the
  score loop dims;
- `cmpi` of two affine forms is a half plane `e >= 0`, `andi` a conjunction,
  `select(c, 0, -inf)` (or `select(c, -inf, 0)` of one negatable condition) the
  additive mask of a condition, `addf` the sum of two biases;
- anything else (a function argument such as a padding mask, an int-to-bool
  compare of it, a constant tensor) is an opaque leaf: a tensor plus the loop
  dim each of its coordinates reads.

`window_of(bias, sq, skv)` then turns the half planes over the last two dims
into `attn.sdpa`'s causal / window attributes: with i' = i + Skv - Sq,
`j <= i'` is causal and `j > i' - W` is a window of W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import arith

from ..linalg_match import as_generic, producer, reassociation, static_shape
from ..normalize.scalars import scalar_value

_P = arith.CmpIPredicate
# cmpi a <pred> b as (sign, offset): the half plane sign * (a - b) + offset >= 0.
_HALF_PLANES = {
    int(_P.slt): (-1, -1), int(_P.ult): (-1, -1), int(_P.sle): (-1, 0), int(_P.ule): (-1, 0),
    int(_P.sgt): (1, -1), int(_P.ugt): (1, -1), int(_P.sge): (1, 0), int(_P.uge): (1, 0),
}
_MASKED = -1e30  # an additive value at or below this masks the key


@dataclass(frozen=True)
class Affine:
    """sum(coeffs[d] * loop_dim_d) + const, over the score loop dims."""

    coeffs: tuple[tuple[int, int], ...]
    const: int = 0

    @staticmethod
    def of_dim(d: int) -> "Affine":
        return Affine(((d, 1),), 0)

    def scaled(self, k: int) -> "Affine":
        return Affine(tuple((d, c * k) for d, c in self.coeffs if c * k), self.const * k)

    def plus(self, other: "Affine") -> "Affine":
        acc = dict(self.coeffs)
        for d, c in other.coeffs:
            acc[d] = acc.get(d, 0) + c
        return Affine(tuple(sorted((d, c) for d, c in acc.items() if c)), self.const + other.const)


@dataclass(frozen=True)
class Leaf:
    """An opaque tensor and, per coordinate, the score loop dim it reads (None: index 0)."""

    value: ir.Value
    dims: tuple[int | None, ...]
    negated: bool = False


@dataclass
class Bias:
    """sum(additive leaves) + (0 where every half plane and boolean leaf holds, else -inf)."""

    additive: list[Leaf] = field(default_factory=list)
    half_planes: list[Affine] = field(default_factory=list)
    bool_leaves: list[Leaf] = field(default_factory=list)

    def plus(self, other: "Bias") -> "Bias":
        return Bias(self.additive + other.additive, self.half_planes + other.half_planes,
                    self.bool_leaves + other.bool_leaves)


@dataclass
class _Cond:
    half_planes: list[Affine]
    leaves: list[Leaf]


def _through_reshape(op, out_dims):
    """The loop dims of a reshape's input from those of its output, or None if they mix."""
    groups = reassociation(op)
    src, dst = static_shape(op.operands[0]), static_shape(op.results[0])
    if src is None or dst is None:
        return None
    in_dims = [None] * len(src)
    expanding = op.name == "tensor.expand_shape"
    for g, group in enumerate(groups):
        if expanding:  # one input coordinate, several output ones
            live = [k for k in group if dst[k] != 1]
            if len(live) > 1:
                return None
            in_dims[g] = out_dims[live[0]] if live else None
        else:  # several input coordinates, one output one
            live = [k for k in group if src[k] != 1]
            if len(live) > 1:
                return None
            if live:
                in_dims[live[0]] = out_dims[g]
    return tuple(in_dims)


def _map_dims(affine_map, loop_dims):
    """Loop dims (in score terms) read by each result of an operand map, or None."""
    out = []
    for e in affine_map.results:
        if isinstance(e, ir.AffineDimExpr):
            out.append(loop_dims[e.position])
        elif isinstance(e, ir.AffineConstantExpr) and e.value == 0:
            out.append(None)
        else:
            return None
    return tuple(out)


@dataclass
class Score:
    """scale * S + bias, for the score tensor S a generic reads (see match.scores)."""

    scale: float
    bias: Bias


class _Marker:
    """The score operand inside a body being read."""


SCORE = _Marker()


def _splat(value) -> float | None:
    """The element of a splat float constant tensor (no dense_resource read)."""
    op = producer(value)
    if op is None or op.name != "arith.constant":
        return None
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseFPElementsAttr) or not attr.is_splat:
        return None
    return float(attr.get_splat_value().value)


def _bool_splat(value) -> bool | None:
    """The element of a splat i1 constant tensor."""
    op = producer(value)
    if op is None or op.name != "arith.constant" or not _is_bool(value):
        return None
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr) or not attr.is_splat:
        return None
    return bool(attr.get_splat_value().value)


def _term(value, dims, depth=0):
    """The meaning of tensor `value` read at `dims`: Affine, _Cond, Bias, a float, or a Leaf."""
    if value is SCORE:
        return Score(1.0, Bias())
    op = producer(value)
    if depth > 32 or op is None:
        return Leaf(value, dims)
    if _splat(value) is not None:
        return _splat(value)
    if _bool_splat(value) is not None:  # all true: no condition; all false: never holds
        return _Cond([] if _bool_splat(value) else [Affine((), -1)], [])
    if op.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        inner = _through_reshape(op, dims)
        return Leaf(value, dims) if inner is None else _term(op.operands[0], inner, depth + 1)
    g = as_generic(op)
    if g is None or len(g.outputs) != 1 or any(it != "parallel" for it in g.iterators) \
            or not g.is_identity(len(g.inputs)):
        return Leaf(value, dims)
    args = {}
    for i, x in enumerate(g.inputs):
        read = _map_dims(g.maps[i], dims)
        if read is None:
            return Leaf(value, dims)
        args[i] = (x, read)
    result = _body(g, dims, args, depth)
    return Leaf(value, dims) if result is None else result


def _body(g, dims, args, depth):
    env = {}

    def get(v):
        i = g.arg_index(v)
        if i is not None:
            if i not in args:
                return None
            if i not in env:
                env[i] = _term(*args[i], depth + 1)
            return env[i]
        c = scalar_value(v)
        if c is not None:
            return c
        return env.get(v)

    for op in g.body:
        vals = [get(v) for v in op.operands]
        out = _scalar_op(op, vals, dims)
        if out is None:
            return None
        env[op.results[0]] = out
    return get(g.yielded[0])


def _as_affine(t):
    if isinstance(t, Affine):
        return t
    if isinstance(t, float) and t == int(t):
        return Affine((), int(t))
    return None


def _scalar_op(op, vals, dims):
    name = op.name
    if name == "linalg.index":
        d = dims[ir.IntegerAttr(op.attributes["dim"]).value]
        return Affine((), 0) if d is None else Affine.of_dim(d)
    if any(v is None for v in vals):
        return None
    if any(isinstance(v, Score) for v in vals):
        return _score_op(name, vals)
    if name in ("arith.index_cast", "arith.sitofp", "arith.extsi", "arith.index_castui",
                "arith.trunci"):
        return vals[0] if isinstance(vals[0], Affine) else None
    if name in ("arith.addi", "arith.subi", "arith.muli"):
        a, b = _as_affine(vals[0]), _as_affine(vals[1])
        if a is None or b is None:
            return None
        if name == "arith.addi":
            return a.plus(b)
        if name == "arith.subi":
            return a.plus(b.scaled(-1))
        if not a.coeffs:
            return b.scaled(a.const)
        return a.scaled(b.const) if not b.coeffs else None
    if name == "arith.cmpi":
        a, b = _as_affine(vals[0]), _as_affine(vals[1])
        pred = ir.IntegerAttr(op.attributes["predicate"]).value
        if a is None or b is None or pred not in _HALF_PLANES:
            return None
        sign, offset = _HALF_PLANES[pred]
        e = a.plus(b.scaled(-1)).scaled(sign)
        return _Cond([Affine(e.coeffs, e.const + offset)], [])
    if name == "arith.andi":
        a, b = (_as_cond(v) for v in vals)
        if a is None or b is None:
            return None
        return _Cond(a.half_planes + b.half_planes, a.leaves + b.leaves)
    if name == "arith.select":
        cond = _as_cond(vals[0])
        t, f = vals[1], vals[2]
        if cond is None or not isinstance(t, float) or not isinstance(f, float):
            return None
        if t == 0.0 and f <= _MASKED:
            return Bias([], cond.half_planes, cond.leaves)
        if f == 0.0 and t <= _MASKED:
            negated = _negate(cond)
            return None if negated is None else Bias([], negated.half_planes, negated.leaves)
        return None
    if name == "arith.addf":
        a, b = (_as_bias(v) for v in vals)
        return None if a is None or b is None else a.plus(b)
    return None


def _score_op(name, vals):
    """scale * S + bias through mulf by a constant, addf of a bias, masked_fill selects."""
    if name == "arith.mulf":
        s, c = (vals[0], vals[1]) if isinstance(vals[0], Score) else (vals[1], vals[0])
        if not isinstance(c, float) or isinstance(c, Score):
            return None
        if s.bias.additive and c != 1.0 or c <= 0.0 and (s.bias.half_planes or s.bias.bool_leaves):
            return None  # scaling a float bias, or flipping -inf to +inf, is not a score scale
        return Score(s.scale * c, s.bias)
    if name == "arith.addf":
        s, b = (vals[0], vals[1]) if isinstance(vals[0], Score) else (vals[1], vals[0])
        b = _as_bias(b)
        return None if b is None or isinstance(b, Score) else Score(s.scale, s.bias.plus(b))
    if name == "arith.select":
        cond, t, f = vals
        if isinstance(t, Score) and isinstance(f, float) and f <= _MASKED:
            c = _as_cond(cond)
        elif isinstance(f, Score) and isinstance(t, float) and t <= _MASKED:
            c = _as_cond(cond)
            c = None if c is None else _negate(c)
            t = f
        else:
            return None
        if c is None:
            return None
        return Score(t.scale, t.bias.plus(Bias([], c.half_planes, c.leaves)))
    return None


def _as_cond(t):
    if isinstance(t, _Cond):
        return t
    if isinstance(t, Leaf) and _is_bool(t.value):
        return _Cond([], [t])
    return None


def _as_bias(t):
    if isinstance(t, Bias):
        return t
    if isinstance(t, Leaf) and not _is_bool(t.value):
        return Bias([t])
    return None


def _negate(cond: _Cond) -> _Cond | None:
    """not(cond) when cond is one half plane or one boolean leaf."""
    if len(cond.half_planes) + len(cond.leaves) != 1:
        return None
    if cond.half_planes:
        e = cond.half_planes[0].scaled(-1)
        return _Cond([Affine(e.coeffs, e.const - 1)], [])
    leaf = cond.leaves[0]
    return _Cond([], [Leaf(leaf.value, leaf.dims, not leaf.negated)])


def _is_bool(value) -> bool:
    t = ir.RankedTensorType(value.type) if isinstance(value.type, ir.RankedTensorType) else None
    return t is not None and isinstance(t.element_type, ir.IntegerType) and \
        t.element_type.width == 1


def analyze_score_step(g, chain: int) -> Score | None:
    """What generic g computes from its input `chain` (the scores): scale * S + bias, or None.

    Bias leaves read g's loop dims."""
    dims = tuple(range(len(g.iterators)))
    args = {}
    for i, x in enumerate(g.inputs):
        read = _map_dims(g.maps[i], dims)
        if read is None:
            return None
        args[i] = (SCORE, read) if i == chain else (x, read)
    out = _body(g, dims, args, 0)
    return out if isinstance(out, Score) else None


def analyze_bias(value, dims) -> Bias | None:
    """The meaning of an additive score bias `value` read at loop dims `dims` (a tuple)."""
    return _as_bias(_term(value, tuple(dims)))


def analyze_condition(value, dims) -> Bias | None:
    """The bias `select(value, s, -inf)` adds to s: 0 where the boolean `value` holds."""
    cond = _as_cond(_term(value, tuple(dims)))
    return None if cond is None else Bias([], cond.half_planes, cond.leaves)


@dataclass(frozen=True)
class Window:
    causal: bool
    window: int | None  # W > 0: key j visible from query i iff j > i + Skv - Sq - W


def window_of(half_planes, row: int, col: int, sq: int, skv: int) -> Window | None:
    """The causal / sliding-window attributes equal to the half planes, or None."""
    causal, window = False, None
    shift = skv - sq
    for e in half_planes:
        coeffs = dict(e.coeffs)
        if set(coeffs) - {row, col}:
            return None
        a, b = coeffs.get(row, 0), coeffs.get(col, 0)
        if (a, b) == (0, 0):
            if e.const < 0:
                return None  # never holds: every key masked
            continue
        if (a, b) == (1, -1) and e.const == shift:  # j <= i + shift
            causal = True
        elif (a, b) == (-1, 1):  # j >= i - const: j > i + shift - W with W = shift + const + 1
            w = shift + e.const + 1
            if w <= 0:
                return None
            window = w if window is None else min(window, w)
        else:
            return None
    return Window(causal, window)


def is_masked_value(x: float | None) -> bool:
    return x is not None and (x == -math.inf or x <= _MASKED)
