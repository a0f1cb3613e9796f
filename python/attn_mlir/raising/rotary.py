"""Rotary embedding raised to attn.rotary (rooted at the add):

    x * cos + cat(-x[.., h:2h], x[.., :h]) * sin   ==>   attn.rotary(x, cos, sin) {half, 2h}

with cos/sin broadcast over x's leading dims (numpy rules); then partial
rotary: cat(attn.rotary(x[.., :R]), x[.., R:]) ==> attn.rotary(x) {rotary_dim = R}.

`raise_rotary_ops(func)` runs both on one function.
"""

from __future__ import annotations

from mlir import ir

from ..attn_ops import ROTARY, Rotary, create_rotary
from ..ir_utils import walk_ops
from ..linalg_match import body_pair, elementwise, producer, single_body_op, static_shape
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
    """x for value = concat(-x[.., h:2h], x[.., :h]) along the last dim, x of width 2h."""
    op = producer(value)
    if op is None or op.name != "tensor.concat" or len(op.operands) != 2 or static_shape(value) is None:
        return None
    rank = len(static_shape(value))
    if ir.IntegerAttr(op.attributes["dim"]).value != rank - 1:
        return None
    neg = elementwise(op.operands[0])
    if neg is None or single_body_op(neg, "arith.negf") is None or len(neg.inputs) != 1:
        return None
    hi, lo = _slice_of(neg.inputs[0]), _slice_of(op.operands[1])
    if hi is None or lo is None or hi[0] != lo[0]:
        return None
    h = lo[2]
    if lo[1] != 0 or hi[1] != h or hi[2] != h or static_shape(lo[0])[-1] != 2 * h:
        return None
    return lo[0]


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


def _products(value, rank, width):
    """[(tensor, table)] for value = tensor * table (either operand order)."""
    g = elementwise(value)
    mul = single_body_op(g, "arith.mulf") if g else None
    if mul is None:
        return []
    i, j = body_pair(g, mul)
    if i is None or j is None or max(i, j) >= len(g.inputs):
        return []
    found = []
    for a, b in ((i, j), (j, i)):
        table = _table(g, b, rank, width)
        if g.is_identity(a) and table is not None:
            found.append((g.inputs[a], table))
    return found


def raise_rotary(add) -> bool:
    """x * cos + rotate_half(x) * sin ==> attn.rotary(x, cos, sin) {half}."""
    g = elementwise(add.results[0])
    op = single_body_op(g, "arith.addf") if g else None
    if op is None:
        return False
    i, j = body_pair(g, op)
    if i is None or j is None or max(i, j) >= len(g.inputs) or not (
            g.is_identity(i) and g.is_identity(j)):
        return False
    out = static_shape(add.results[0])
    if not out:
        return False
    rank, width = len(out), out[-1]
    for a, b in ((i, j), (j, i)):
        for x, cos in _products(g.inputs[a], rank, width):
            for rotated, sin in _products(g.inputs[b], rank, width):
                half_of = match_rotate_half(rotated)
                if half_of is not None and half_of == x and cos.type == sin.type \
                        and x.type == add.results[0].type:
                    with ir.InsertionPoint(add), add.location:
                        new = create_rotary(x, cos, sin, style="half", rotary_dim=width)
                    add.results[0].replace_all_uses_with(new.results[0])
                    add.erase()
                    return True
    return False


def raise_partial_rotary(concat) -> bool:
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
    concat.results[0].replace_all_uses_with(new.results[0])
    concat.erase()
    return True


def raise_rotary_ops(func) -> None:
    """Raise every rotate_half rotary, then every partial rotary, in `func`."""
    for add in walk_ops(func, "linalg.generic"):
        if raise_rotary(add):
            fired(NAME, func, "rotate_half rotary embedding raised to attn.rotary")
    for concat in walk_ops(func, "tensor.concat"):
        if raise_partial_rotary(concat):
            fired(NAME, func, "partial rotary raised to attn.rotary with rotary_dim")
