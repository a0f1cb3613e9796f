"""Rotary embedding raised to attn.rotary (rooted at the add):

    x * cos + cat(-x[.., h:2h], x[.., :h]) * sin   ==>   attn.rotary(x, cos, sin) {half, 2h}

the add and the two products as three generics, or as one generic whose body
computes the whole formula (products either way round, either product first),

with cos/sin broadcast over x's leading dims (numpy rules); then partial
rotary: cat(attn.rotary(x[.., :R]), x[.., R:]) ==> attn.rotary(x) {rotary_dim = R}.

Each rewrite runs under the greedy driver (`rewrites()`, see attn_mlir.greedy): it
replaces its root through the PatternRewriter and leaves the ops that fed it dead, for
the driver to erase.
"""

from __future__ import annotations

from mlir import ir

from .. import greedy
from ..attn_ops import ROTARY, Rotary, create_rotary
from ..linalg_match import body_pair, elementwise, producer, single_body_op, static_shape
from ..match.rotary import RotateHalf, lowered_rotary, rotation
from ..rewrite_log import fired

NAME = "attn-raise"


# --- rotary ------------------------------------------------------------------------------

def _slice_of(value):
    """(source, offset, size) for an extract_slice along the last dim only, else None."""
    op = producer(value)
    if op is None or op.name != "tensor.extract_slice" or len(op.operands) != 1:
        return None
    src = op.operands[0]
    src_shape, out = static_shape(src), static_shape(value)
    offsets = list(ir.DenseI64ArrayAttr(op.attributes["static_offsets"]))
    strides = list(ir.DenseI64ArrayAttr(op.attributes["static_strides"]))
    if src_shape is None or out is None or len(src_shape) != len(out):
        return None
    if any(offsets[:-1]) or any(s != 1 for s in strides) or out[:-1] != src_shape[:-1]:
        return None
    return src, offsets[-1], out[-1]


def match_rotate_half(value):
    """(x, style) for value = rot(x) (rotate_half or interleaved, any spelling the shared
    matcher knows), else (None, None)."""
    op = producer(value)
    if op is None:
        return None, None
    found = rotation(op, exclusive=False)
    return (found.source, found.style) if isinstance(found, RotateHalf) else (None, None)


def _table(g, i, rank, width):
    """Input i of g if it is a cos/sin table broadcast numpy-style with last dim `width`."""
    t_shape = static_shape(g.inputs[i])
    if t_shape is None or not t_shape or t_shape[-1] != width or len(t_shape) > rank:
        return None
    off = rank - len(t_shape)
    for k, (size, e) in enumerate(zip(t_shape, g.maps[i].results)):
        if isinstance(e, ir.AffineDimExpr) and e.position == off + k:
            continue
        if isinstance(e, ir.AffineConstantExpr) and e.value == 0 and size == 1:
            continue
        return None
    return g.inputs[i]


def _factors(g, mul, rank, width):
    """[(tensor, table)] for a `mulf` of g's body that multiplies two of g's inputs:
    an identity-mapped tensor by a cos/sin table (either operand order)."""
    i, j = body_pair(g, mul)
    if i is None or j is None or max(i, j) >= len(g.inputs):
        return []
    return [(g.inputs[a], table) for a, b in ((i, j), (j, i))
            if g.is_identity(a) and (table := _table(g, b, rank, width)) is not None]


def _products(value, rank, width):
    """[(tensor, table)] for value = tensor * table, a generic of its own."""
    g = elementwise(value)
    mul = single_body_op(g, "arith.mulf") if g else None
    return _factors(g, mul, rank, width) if mul is not None else []


def _fused_products(g, add_op, rank, width):
    """The two product lists of `add_op` = (p * q) + (r * t) computed in g's own body
    (one generic for the whole formula, as written by hand or after elementwise
    fusion): [[(tensor, table)], [(tensor, table)]], or None."""
    products = [op for op in g.body if op.name == "arith.mulf"]
    muls = [next((op for op in products if op.results[0] == operand), None)
            for operand in add_op.operands]
    if any(mul is None for mul in muls):
        return None
    return [_factors(g, mul, rank, width) for mul in muls]


def raise_rotary(add, rewriter) -> bool:
    """x * cos + rotate_half(x) * sin ==> attn.rotary(x, cos, sin) {half}: the add of
    two product generics, or one generic whose body is the whole formula."""
    g = elementwise(add.results[0])
    if g is None:
        return False
    out = static_shape(add.results[0])
    if not out:
        return False
    rank, width = len(out), out[-1]
    op = single_body_op(g, "arith.addf")
    if op is not None:
        i, j = body_pair(g, op)
        if i is None or j is None or max(i, j) >= len(g.inputs) or not (
                g.is_identity(i) and g.is_identity(j)):
            return False
        sides = [_products(g.inputs[i], rank, width), _products(g.inputs[j], rank, width)]
    else:
        body = g.body
        if len(body) != 3 or body[2].name != "arith.addf" or len(g.yielded) != 1 \
                or g.yielded[0] != body[2].results[0]:
            return False
        sides = _fused_products(g, body[2], rank, width)
        if sides is None:
            return False
    for first, second in (sides, sides[::-1]):
        for x, cos in first:
            for rotated, sin in second:
                source, style = match_rotate_half(rotated)
                if source is not None and source == x and cos.type == sin.type \
                        and x.type == add.results[0].type:
                    with ir.InsertionPoint(add), add.location:
                        new = create_rotary(x, cos, sin, style=style, rotary_dim=width)
                    rewriter.replace_op(add, new)
                    return True
    return False


def raise_partial_rotary(concat, rewriter) -> bool:
    """concat(attn.rotary(x[.., :R]), x[.., R:]) ==> attn.rotary(x) {rotary_dim = R}."""
    if len(concat.operands) != 2 or static_shape(concat.results[0]) is None:
        return False
    rank = len(static_shape(concat.results[0]))
    if ir.IntegerAttr(concat.attributes["dim"]).value != rank - 1:
        return False
    rot_op = producer(concat.operands[0])
    if rot_op is None or rot_op.name != ROTARY:
        return False
    rot = Rotary(rot_op)
    head, tail = _slice_of(rot.input), _slice_of(concat.operands[1])
    if head is None or tail is None or head[0] != tail[0] or head[1] != 0:
        return False
    x, width = head[0], head[2]
    if static_shape(x) is None or tail[1] != width or width + tail[2] != static_shape(x)[-1] or rot.rotary_dim != width \
            or x.type != concat.results[0].type:
        return False
    with ir.InsertionPoint(concat), concat.location:
        new = create_rotary(x, rot.cos, rot.sin, style=rot.style, rotary_dim=width)
    rewriter.replace_op(concat, new)
    return True


def raise_lowered_rotary(insert, rewriter) -> bool:
    """The rotary kernel's form (attn-lower's output, attn-fold-rotate-half's fusion)
    ==> attn.rotary(x, cos, sin) {style, rotary_dim}."""
    found = lowered_rotary(insert)
    if found is None:
        return False
    with ir.InsertionPoint(insert), insert.location:
        new = create_rotary(found.x, found.cos, found.sin, style=found.style,
                            rotary_dim=found.rotary_dim)
    rewriter.replace_op(insert, new)
    return True


def rewrites(func) -> list:
    """(root op name, rewrite) pairs for `greedy.apply` raising rotary embedding in
    `func`: the kernel's form, rotate_half and interleaved rotary, partial rotary
    (once its head is raised)."""
    def remarked(rewrite, remark):
        def apply(op, rewriter) -> bool:
            if not rewrite(op, rewriter):
                return False
            fired(NAME, func, remark)
            return True
        return apply

    return [("tensor.insert_slice", remarked(raise_lowered_rotary,
                                             "fused rotary embedding raised to attn.rotary")),
            ("linalg.generic", remarked(raise_rotary,
                                        "rotate_half rotary embedding raised to attn.rotary")),
            ("tensor.concat", remarked(raise_partial_rotary,
                                       "partial rotary raised to attn.rotary with rotary_dim"))]


def raise_rotary_ops(func) -> int:
    """Raise every rotary embedding in `func` (attn-raise's rotary step alone)."""
    return greedy.apply(func, rewrites(func))
