"""Rotary embedding, recognised by what it computes.

Rotary embedding of `t` (channels [.., D], pairs (a_i, b_i)) is

    out = t * cos + rot(t) * sin
    half         rot(t) = cat(-t[.., D/2:], t[.., :D/2])          (Llama, GPT-NeoX)
    interleaved  rot(t)[.., 2i] = -t[.., 2i+1], rot(t)[.., 2i+1] = t[.., 2i]   (GPT-J)

This module answers two questions, for the rewrites and for `attn-raise` alike:

* `rotate_half(concat)`: is this concatenation `rot(t)` for the half style?
  The negation is judged by its body's value (`negf`, `mulf -1`, `subf 0, x`,
  `mulf x, -1` are one thing), the concatenation may be a `tensor.concat` or two
  `tensor.insert_slice`s into an empty tensor.
* `lowered_rotary(value)`: is `value` the rotary kernel's form (what `attn.rotary`
  lowers to and what `attn-fold-rotate-half` fuses into): one generic over the
  pairs with two results `a*cos_a - b*sin_a` and `b*cos_b + a*sin_b`, inserted at
  the halves' offsets (stride 1 for half, 2 for interleaved)? The body is
  evaluated on sample numbers, so any spelling of those two results matches.

Every check is an explicit early return; nothing is caught as "no match".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from ..constants import constant_array
from ..linalg_match import producer, static_shape, users


# --- evaluating a body --------------------------------------------------------------

_BINARY = {"arith.mulf": lambda a, b: a * b, "arith.addf": lambda a, b: a + b,
           "arith.subf": lambda a, b: a - b, "arith.divf": lambda a, b: a / b,
           "arith.maximumf": max, "arith.minimumf": min}


def evaluate_body(generic: ir.Operation, args: list[float]) -> list[float] | None:
    """The yielded numbers of `generic`'s body for block arguments `args`, or None when
    the body uses an op this evaluator does not know (then it is not judged by value)."""
    block = generic.regions[0].blocks[0]
    env: dict = {}
    for arg, number in zip(block.arguments, args):
        env[arg] = number
    for body_op in block.operations:
        op = body_op.operation
        name = op.name
        if name == "linalg.yield":
            if not all(v in env for v in op.operands):
                return None
            return [env[v] for v in op.operands]
        if name == "arith.constant":
            array = constant_array(op.results[0])
            if array is None or array.size != 1:
                return None
            env[op.results[0]] = float(array.reshape(-1)[0])
            continue
        operands = []
        for v in op.operands:
            if v in env:
                operands.append(env[v])
                continue
            array = constant_array(v)  # a scalar captured from outside the body
            if array is None or array.size != 1:
                return None
            operands.append(float(array.reshape(-1)[0]))
        if name in _BINARY and len(operands) == 2:
            env[op.results[0]] = _BINARY[name](*operands)
        elif name == "arith.negf" and len(operands) == 1:
            env[op.results[0]] = -operands[0]
        else:
            return None
    return None


def _close(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12)
                                         for g, w in zip(got, want))


_SAMPLES = (1.7, -0.3, 2.9, 0.45, -1.1, 0.8, 3.3)


def is_negation(generic: ir.Operation) -> bool:
    """Whether an elementwise generic with one input computes `-x` (any spelling)."""
    if generic.name != "linalg.generic" or len(generic.results) != 1 or len(generic.operands) != 2:
        return False
    block = generic.regions[0].blocks[0]
    if any(True for _ in block.arguments[1].uses):
        return False  # reads its init
    for x in _SAMPLES[:3]:
        got = evaluate_body(generic, [x, 0.0])
        if got is None or not _close(got, [-x]):
            return False
    return True


# --- rotate_half ---------------------------------------------------------------------

@dataclass
class RotateHalf:
    """rot(t) built by `root`: `cat(-t[.., h:], t[.., :h])` (style "half", root a concat or
    the last insert) or the pairwise `(-t[.., 1::2], t[.., 0::2])` interleaved back
    (style "interleaved", root the collapse_shape of GPT-J's stack + flatten)."""

    root: ir.Operation
    source: ir.Value       # t
    neg: ir.Operation      # the negation generic
    low: ir.Operation      # t[.., :h] or t[.., 0::2]
    high: ir.Operation     # t[.., h:] or t[.., 1::2]
    half: int
    ops: list              # every op of the pattern (erased with root)
    style: str = "half"


def _slice_params(op):
    attrs = op.attributes
    return (list(ir.DenseI64ArrayAttr(attrs["static_offsets"])),
            list(ir.DenseI64ArrayAttr(attrs["static_sizes"])),
            list(ir.DenseI64ArrayAttr(attrs["static_strides"])))


def _identity_maps(generic: ir.Operation) -> bool:
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(generic.attributes["indexing_maps"])]
    return all(m == ir.AffineMap.get_identity(m.n_dims) for m in maps)


def _pieces(root: ir.Operation):
    """(first piece, second piece, their offsets along the last axis, ops) of a
    two-piece concatenation along the last axis, or None."""
    if root.name == "tensor.concat":
        if len(root.operands) != 2:
            return None
        rank = len(static_shape(root.results[0]) or [])
        if rank == 0 or ir.IntegerAttr(root.attributes["dim"]).value != rank - 1:
            return None
        first_width = (static_shape(root.operands[0]) or [0])[-1]
        return root.operands[0], root.operands[1], (0, first_width), [root]
    if root.name != "tensor.insert_slice":
        return None
    outer = root
    inner = producer(outer.operands[1])
    if inner is None or inner.name != "tensor.insert_slice" or len(outer.operands) != 2 \
            or len(inner.operands) != 2:
        return None
    base = producer(inner.operands[1])
    if base is None or base.name != "tensor.empty" or len(users(inner.results[0])) != 1:
        return None
    shape = static_shape(outer.results[0])
    if shape is None:
        return None
    pieces = []
    for op in (inner, outer):
        offsets, sizes, strides = _slice_params(op)
        if any(offsets[:-1]) or sizes[:-1] != shape[:-1] or any(s != 1 for s in strides):
            return None
        pieces.append((offsets[-1], op.operands[0]))
    pieces.sort(key=lambda p: p[0])
    (off0, v0), (off1, v1) = pieces
    if off0 != 0 or off1 != (static_shape(v0) or [0])[-1]:
        return None
    if off1 + (static_shape(v1) or [0])[-1] != shape[-1]:
        return None
    return v0, v1, (0, off1), [outer, inner, base]


def rotation(root: ir.Operation, exclusive: bool = True) -> RotateHalf | str | None:
    """rotate_half or the interleaved rotation rooted at `root` (see `RotateHalf`)."""
    if root.name == "tensor.collapse_shape":
        return rotate_interleaved(root, exclusive)
    return rotate_half(root, exclusive)


def rotate_interleaved(root: ir.Operation, exclusive: bool = True) -> RotateHalf | str | None:
    """GPT-J's rotate_every_two: `stack((-t[.., 1::2], t[.., 0::2]), -1).flatten(-2)`, i.e.
    collapse_shape(concat(expand(-t[.., 1::2]), expand(t[.., 0::2])) along a new last
    axis of size 1 each); None when it is not that shape, else the reason it is not."""
    if root.name != "tensor.collapse_shape" or len(root.operands) != 1:
        return None
    concat = producer(root.operands[0])
    shape = static_shape(root.results[0])
    stacked = static_shape(root.operands[0])
    if concat is None or concat.name != "tensor.concat" or len(concat.operands) != 2 \
            or shape is None or stacked is None or len(stacked) != len(shape) + 1 \
            or stacked[-1] != 2 or ir.IntegerAttr(concat.attributes["dim"]).value != len(shape):
        return None
    expands = [producer(v) for v in concat.operands]
    if any(e is None or e.name != "tensor.expand_shape" for e in expands):
        return None
    neg_op, low = producer(expands[0].operands[0]), producer(expands[1].operands[0])
    if neg_op is None or low is None or not is_negation(neg_op) \
            or low.name != "tensor.extract_slice":
        return None
    if not _identity_maps(neg_op):
        return "negation is not element-wise one-to-one"
    high = producer(neg_op.operands[0])
    if high is None or high.name != "tensor.extract_slice":
        return "the negated operand is not a slice"
    t = low.operands[0]
    if len(low.operands) != 1 or len(high.operands) != 1 or high.operands[0] != t:
        return "the lanes are not static slices of the same tensor"
    if static_shape(t) != shape or shape[-1] % 2:
        return "shape mismatch between the rotation and the sliced tensor"
    rank, half = len(shape), shape[-1] // 2
    lo_off, lo_size, lo_stride = _slice_params(low)
    hi_off, hi_size, hi_stride = _slice_params(high)
    lanes = shape[:-1] + [half]
    if lo_size != lanes or hi_size != lanes or lo_stride != [1] * (rank - 1) + [2] \
            or hi_stride != [1] * (rank - 1) + [2]:
        return "the slices are not the even and odd lanes of the last axis"
    if lo_off != [0] * rank or hi_off != [0] * (rank - 1) + [1]:
        return "the slices are not (odd lanes negated, even lanes) in that order"
    ops = [root, concat] + expands
    if exclusive:
        for op, allowed in ((concat, [root]), (expands[0], [concat]), (expands[1], [concat]),
                            (low, [expands[1]]), (high, [neg_op]), (neg_op, [expands[0]])):
            if any(u not in allowed for u in users(op.results[0])):
                return "a lane has other users"
    return RotateHalf(root, t, neg_op, low, high, half, ops + [neg_op, low, high], "interleaved")


def rotate_half(root: ir.Operation, exclusive: bool = True) -> RotateHalf | str | None:
    """RotateHalf, None when `root` is no two-piece concatenation with a negated piece,
    or the reason why one that looks like rotate_half is not. With `exclusive`, the
    halves and the negation must have no user outside the pattern (a rewrite that
    erases them needs that; raising, which leaves them to other users, does not)."""
    pieces = _pieces(root)
    if pieces is None:
        return None
    first, second, _, concat_ops = pieces
    neg_op, low = producer(first), producer(second)
    if neg_op is None or low is None or not is_negation(neg_op):
        return None
    if low.name != "tensor.extract_slice":
        return None
    if not _identity_maps(neg_op):
        return "negation is not element-wise one-to-one"
    high = producer(neg_op.operands[0])
    if high is None or high.name != "tensor.extract_slice":
        return "the negated operand is not a slice"
    t = low.operands[0]
    if len(low.operands) != 1 or len(high.operands) != 1 or high.operands[0] != t:
        return "the halves are not static slices of the same tensor"
    shape = static_shape(t)
    if shape is None:
        return "dynamic shape"
    rank = len(shape)
    if static_shape(root.results[0]) != shape:
        return "shape mismatch between the concatenation and the sliced tensor"
    if shape[-1] % 2:
        return "odd last dimension"
    half = shape[-1] // 2
    lo_off, lo_size, lo_stride = _slice_params(low)
    hi_off, hi_size, hi_stride = _slice_params(high)
    full = shape[:-1]
    if (lo_size != full + [half] or hi_size != full + [half]
            or any(s != 1 for s in lo_stride + hi_stride)
            or static_shape(low.results[0]) != full + [half]):
        return "the slices are not the two halves of the last axis"
    if lo_off != [0] * rank or hi_off != [0] * (rank - 1) + [half]:
        return "the slices are not (second half negated, first half) in that order"
    for op, allowed in ((low, concat_ops), (high, [neg_op]), (neg_op, concat_ops)):
        if not exclusive:
            break
        if any(u not in allowed for u in users(op.results[0])):
            return "a half has other users"
    return RotateHalf(root, t, neg_op, low, high, half, concat_ops + [neg_op, low, high])


# --- the rotary kernel's form ----------------------------------------------------------

@dataclass
class LoweredRotary:
    """`root` computes attn.rotary(x, cos, sin) {style, rotary_dim} in the kernel's form."""

    root: ir.Operation
    x: ir.Value
    cos: ir.Value
    sin: ir.Value
    style: str
    rotary_dim: int


def _last_axis_slice(value: ir.Value):
    """(source, offset, size, stride) of a slice along the last axis only, else None."""
    op = producer(value)
    if op is None or op.name != "tensor.extract_slice" or len(op.operands) != 1:
        return None
    src_shape, out = static_shape(op.operands[0]), static_shape(value)
    if src_shape is None or out is None or len(src_shape) != len(out):
        return None
    offsets, sizes, strides = _slice_params(op)
    if any(offsets[:-1]) or any(s != 1 for s in strides[:-1]) or sizes[:-1] != src_shape[:-1]:
        return None
    return op.operands[0], offsets[-1], sizes[-1], strides[-1]


def _pair_meaning(generic: ir.Operation, roles: list[str]) -> bool:
    """Whether the 2-result body computes (a*ca - b*sa, b*cb + a*sb), inputs in `roles`."""
    for shift in range(3):
        values = {r: _SAMPLES[(i + shift) % len(_SAMPLES)] for i, r in
                  enumerate(("a", "b", "ca", "sa", "cb", "sb"))}
        got = evaluate_body(generic, [values[r] for r in roles] + [0.0, 0.0])
        v = values
        want = [v["a"] * v["ca"] - v["b"] * v["sa"], v["b"] * v["cb"] + v["a"] * v["sb"]]
        if got is None or not _close(got, want):
            return False
    return True


def lowered_rotary(root: ir.Operation) -> LoweredRotary | None:
    """The kernel's form rooted at its last `tensor.insert_slice` (see the module doc)."""
    if root.name != "tensor.insert_slice" or len(root.operands) != 2:
        return None
    inner = producer(root.operands[1])
    if inner is None or inner.name != "tensor.insert_slice" or len(inner.operands) != 2 \
            or len(users(inner.results[0])) != 1:
        return None
    generic = producer(root.operands[0])
    if generic is None or generic.name != "linalg.generic" or len(generic.results) != 2 \
            or producer(inner.operands[0]) != generic or len(generic.operands) != 8:
        return None
    if root.operands[0] != generic.results[1] or inner.operands[0] != generic.results[0]:
        return None
    if any(len(users(r)) != 1 for r in generic.results):
        return None
    out_shape = static_shape(root.results[0])
    if out_shape is None:
        return None
    # Where each result goes: (offset, stride) along the last axis, the rest whole.
    placed = []
    for op in (inner, root):
        offsets, sizes, strides = _slice_params(op)
        if any(offsets[:-1]) or sizes[:-1] != out_shape[:-1] or any(s != 1 for s in strides[:-1]):
            return None
        placed.append((offsets[-1], sizes[-1], strides[-1]))
    (off_a, h, stride), (off_b, h_b, stride_b) = placed
    if h != h_b or stride != stride_b:
        return None
    if (off_a, off_b, stride) == (0, h, 1):
        style = "half"
    elif (off_a, off_b, stride) == (0, 1, 2):
        style = "interleaved"
    else:
        return None
    rotary_dim = 2 * h
    # The inputs: slices of x and of two tables, at the same offsets and stride.
    slices = [_last_axis_slice(v) for v in list(generic.operands)[:6]]
    if any(s is None for s in slices):
        return None
    x = slices[0][0]
    if static_shape(x) != out_shape or x.type != root.results[0].type:
        return None
    base = producer(inner.operands[1])
    if base is None:
        return None
    if rotary_dim == out_shape[-1]:
        if base.name != "tensor.empty":
            return None
    elif base.name != "linalg.copy" or base.operands[0] != x:
        return None
    roles = []
    tables = []
    for source, offset, size, step in slices:
        if size != h or step != stride or offset not in (off_a, off_b):
            return None
        side = "a" if offset == off_a else "b"
        if source == x:
            roles.append(side)
            continue
        if source not in tables:
            tables.append(source)
        roles.append(("t%d" % tables.index(source), side))
    if sorted(r for r in roles if isinstance(r, str)) != ["a", "b"] or len(tables) != 2:
        return None
    if tables[0].type != tables[1].type or (static_shape(tables[0]) or [0])[-1] != rotary_dim:
        return None
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(generic.attributes["indexing_maps"])]
    n = len(out_shape)
    for i, m in enumerate(maps):
        if i < 2 or i >= 6:
            if m != ir.AffineMap.get_identity(n):
                return None
    for first in (0, 1):
        cos, sin = tables[first], tables[1 - first]
        names = {cos: "c", sin: "s"}
        named = [r if isinstance(r, str) else names[tables[int(r[0][1])]] + r[1] for r in roles]
        if sorted(named) == sorted(["a", "b", "ca", "sa", "cb", "sb"]) and \
                _pair_meaning(generic, named):
            if not _tables_broadcast(cos, maps, slices, out_shape):
                return None
            return LoweredRotary(root, x, cos, sin, style, rotary_dim)
    return None


def _tables_broadcast(table: ir.Value, maps, slices, out_shape) -> bool:
    """The table slices are read numpy-style: trailing dims aligned, 0 on size-1 dims."""
    shape = static_shape(table)
    if shape is None or len(shape) > len(out_shape):
        return False
    n, m = len(out_shape), len(shape)
    for i in range(2, 6):
        for k, expr in enumerate(maps[i].results):
            if isinstance(expr, ir.AffineDimExpr) and expr.position == n - m + k:
                continue
            if isinstance(expr, ir.AffineConstantExpr) and expr.value == 0 and shape[k] == 1:
                continue
            return False
    return True


__all__ = ["RotateHalf", "LoweredRotary", "rotation", "rotate_half", "rotate_interleaved", "lowered_rotary", "is_negation",
           "evaluate_body"]
