"""The scores of attention: scale * Q K^T + bias, through reshapes, transposes and GQA repeats.

`match_scores(x)` walks up from the softmax input through leading reshapes and
all-parallel generics whose body computes `scale * S + bias` from the scores S
(`match.masks.analyze_score_step`: multiplies by constants, additive biases,
masked_fill selects, in one body or many) to a batched matmul (`match.contraction`)
with a zero init. It then reads Q and K: scalar multiplies on Q or on K (before or
after K's transpose) fold into the scale; K^T is either read transposed by the
matmul's map or a transpose (`linalg.transpose` or a permutation generic) of K.

Legality: one bias, read in one loop domain; a float bias is never scaled (a
scale found above it would scale the bias); -inf masks may be scaled by c > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from ..linalg_match import (as_generic, elementwise, is_leading_reshape, producer,
                            single_body_op, static_shape, strip_leading_reshapes)
from ..normalize.scalars import scalar_value
from .contraction import Contraction, matmul_of
from .masks import Bias, analyze_score_step


@dataclass
class Scores:
    matmul: Contraction
    scale: float
    bias: Bias | None
    domain: list[int] | None  # the loop domain the bias's leaves and half planes read


def match_scores(x) -> Scores | None:
    """scale * Q K^T + bias for the softmax input x, or None."""
    scale, bias, domain = 1.0, None, None
    while True:
        op = producer(x)
        if op is None:
            return None
        if is_leading_reshape(op):
            x = op.operands[0]
            continue
        c = matmul_of(x)
        if c is not None:
            if not c.zero_init() or c.layout().lhs_transposed:
                return None
            return Scores(c, scale, bias, domain)
        g = elementwise(x)
        if g is None or static_shape(x) is None:
            return None
        step = None
        for i in range(len(g.inputs)):
            if g.is_identity(i) and g.inputs[i].type == x.type:
                step = analyze_score_step(g, i)
                if step is not None:
                    chain = g.inputs[i]
                    break
        if step is None:
            return None
        step_has_bias = bool(step.bias.additive or step.bias.half_planes or step.bias.bool_leaves)
        if step_has_bias and (scale <= 0.0 or scale != 1.0 and step.bias.additive):
            return None  # the scale below would scale this bias (or flip its -inf)
        if step_has_bias:
            if bias is not None and domain != static_shape(x):
                return None  # two biases read in different loop domains
            bias = step.bias if bias is None else bias.plus(step.bias)
            domain = static_shape(x)
        scale *= step.scale
        x = chain


def scalar_factor(value):
    """(x, c) for value = x * c with c a scalar constant (one-op elementwise generic), or None."""
    g = elementwise(value)
    mul = single_body_op(g, "arith.mulf") if g else None
    if mul is None or len(g.inputs) > 2:
        return None
    for a, b in ((mul.operands[0], mul.operands[1]), (mul.operands[1], mul.operands[0])):
        i = g.arg_index(a)
        c = g.scalar(b) if g.arg_index(b) is not None else scalar_value(b)
        if i is not None and c is not None and g.is_identity(i) \
                and g.inputs[i].type == value.type:
            return g.inputs[i], c
    return None


def strip_scale(value):
    """(x, c) peeling scalar multiplies off value = c * x (c = 1.0 if none)."""
    scale = 1.0
    while True:
        found = scalar_factor(value)
        if found is None:
            return value, scale
        value, scale = found[0], scale * found[1]


def transpose_of(value):
    """(source, permutation) if value is a transpose (`linalg.transpose` or a copy generic)."""
    op = producer(value)
    if op is None:
        return None
    if op.name == "linalg.transpose":
        return op.operands[0], list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    g = as_generic(op)
    if g is None or len(g.inputs) != 1 or len(g.outputs) != 1 or g.body \
            or g.arg_index(g.yielded[0]) != 0 or any(it != "parallel" for it in g.iterators):
        return None
    src = [e.position if isinstance(e, ir.AffineDimExpr) else None for e in g.maps[0].results]
    out = [e.position if isinstance(e, ir.AffineDimExpr) else None for e in g.maps[1].results]
    n = len(g.iterators)
    if None in src or None in out or sorted(src) != list(range(n)) or out != list(range(n)):
        return None
    # out[k] = in[perm[k]] as linalg.transpose: output dim k reads input dim perm[k].
    perm = [src.index(k) for k in range(n)]
    return g.inputs[0], perm


@dataclass
class Key:
    source: ir.Value          # the tensor K^T is a transpose of
    perm: list[int]           # K = transpose(source, perm) has the matmul's K layout
    reshapes: list            # leading reshapes between the transpose and the matmul, nearest first
    scale: float


def match_transposed_key(kt) -> Key | None:
    """K^T = [reshapes of] [c *] transpose(K) [* c], or None."""
    reshapes, scale, x = [], 1.0, kt
    while True:
        op = producer(x)
        if op is None:
            return None
        if is_leading_reshape(op):
            reshapes.append(op)
            x = op.operands[0]
            continue
        t = transpose_of(x)
        if t is not None:
            src, perm = t
            inner, c = strip_scale(src)
            return Key(inner, perm[:-2] + [perm[-1], perm[-2]], reshapes, scale * c)
        found = scalar_factor(x)
        if found is None:
            return None
        x, scale = found[0], scale * found[1]


def match_repeated_heads(v):
    """(unrepeated [.., Hkv, S, D] tensor, r) if v collapses a [.., Hkv, r, S, D] broadcast."""
    x = strip_leading_reshapes(v)
    g = elementwise(x)
    if g is None or static_shape(x) is None or len(g.inputs) != 1 \
            or static_shape(g.inputs[0]) is None or g.body or g.arg_index(g.yielded[0]) != 0:
        return None
    n = len(static_shape(x))
    if n < 4:
        return None
    dims = [e.position if isinstance(e, ir.AffineDimExpr) else None for e in g.maps[0].results]
    if dims != [k for k in range(n) if k != n - 3]:
        return None
    return g.inputs[0], static_shape(x)[n - 3]
