"""Values that are projections of one input by a constant matrix, found and rebuilt.

A tensor value `v` is a *projection* of `x` [R, K] when every element is one
entry of a matrix product with a constant matrix `M` [K, J]:

    v[i] == (x @ M)[rows[i], cols[i]]          for every index i of v

`analyze(v)` finds `x`, `M`, `rows` and `cols` (integer arrays shaped like
`v`) by walking up from `v` through ops that keep this form:

* `linalg.matmul(x, W)` with `W` constant (possibly through `linalg.transpose`),
  accumulating into zeros: `M = W`;
* reshapes, transposes and static slices: `rows`/`cols` move like the data;
* `tensor.concat` of projections of the same `x`: `M` side by side;
* element-wise `linalg.generic`s: `negf` (`M -> -M`); `mulf` by a constant that
  takes one value per column of `M` (`M -> M * s`: the constant must not vary
  along the token axis); `addf`/`subf` of two projections of the same `x` with
  the same rows (one new column per pair of columns: `M1[:, a] +- M2[:, b]`).

`column_view(v)` is the narrow case where `M` is one product's weight `W`
itself and `v` only moves its entries (reshapes, transposes, static slices with
any strides), plus at most one constant per-column bias:

    v[i] == (x @ W)[rows[i], cols[i]] + bias[cols[i]]

so `v` reads exactly the columns `cols` of `W` (a strided set when q/k/v
interleave per head, as GPT-NeoX's fused QKV does): what a pass that edits
some columns of `W` in place needs to know.

`materialize(p, ...)` builds `v` anew as one `linalg.matmul(x, M')` followed by
`tensor.expand_shape` and `linalg.transpose` when `v`'s dimensions split into
token dimensions (which index the rows of `x`, in order) and channel
dimensions (which index columns). Rotary embedding at a fixed position,
`(x@W)*cos + rotate_half(x@W)*sin`, is a projection with `M = W*cos + (W@R)*sin`.
The arithmetic on `M` is numpy on the constant weights, done once per rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor

from .constants import constant_array, create_weight, is_a, numpy_dtype
from .linalg_match import is_zero_fill, producer
from .match.contraction import Contraction, classify
from .match.contraction import Layout as ProductLayout
from .rewrite_cost import _op, op_flops, users


class NotAProjection(Exception):
    """Why a value is not (or not usefully) a projection; the message is the reason."""


@dataclass
class Projection:
    x: ir.Value
    weights: np.ndarray            # M: [K, J]
    rows: np.ndarray               # shaped like the value: row of x
    cols: np.ndarray               # shaped like the value: column of M
    ops: list = field(default_factory=list)        # ops computing the value (will die)
    sources: list = field(default_factory=list)    # constant producers they read
    matmuls: int = 0
    bias: np.ndarray | None = None  # [J], added after the product (column_view only)
    bias_input: tuple | None = None  # (generic, input index) that adds it

    def columns(self) -> np.ndarray:
        """The columns of M the value reads, sorted, each once."""
        return np.unique(self.cols)

    def merged_ops(self, other: "Projection") -> list:
        return _union(self.ops, other.ops)

    def merged_sources(self, other: "Projection") -> list:
        return _union(self.sources, other.sources)


def _union(a: list, b: list) -> list:
    out = list(a)
    for op in b:
        if op not in out:
            out.append(op)
    return out



def _shape(value: ir.Value) -> list[int]:
    t = ir.RankedTensorType(value.type)
    if not t.has_static_shape:
        raise NotAProjection("dynamic shape")
    return list(t.shape)


def one_token_shape(value: ir.Value) -> list[int]:
    """The shape with each dynamic (token) dim taken as 1: which columns a product (or
    its biased result) reads does not depend on how many tokens it has."""
    t = ir.RankedTensorType(value.type)
    return [1 if t.is_dynamic_dim(i) else d for i, d in enumerate(t.shape)]


def constant_weight(value: ir.Value) -> tuple[np.ndarray, list] | None:
    """A constant matrix value (or `linalg.transpose` of one) as numpy, with its producers."""
    array = constant_array(value)
    if array is not None:
        return array, [producer(value)]
    op = producer(value)
    if op is not None and op.name == "linalg.transpose":
        inner = constant_array(op.operands[0])
        if inner is not None:
            perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
            return np.transpose(inner, perm), [op, producer(op.operands[0])]
    return None




# --- element-wise generics -------------------------------------------------

def elementwise_body(op: ir.Operation):
    """For an all-parallel single-result generic whose body is one arith op on its
    arguments (or values from outside): (op name, operands, input maps), else None.
    Each operand is ("in", input index) or ("outside", value)."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    if any("parallel" not in str(t) for t in op.attributes["iterator_types"]):
        return None
    maps = [ir.AffineMapAttr(m).value for m in op.attributes["indexing_maps"]]
    n_inputs = len(op.operands) - 1
    out_map = maps[-1]
    if out_map != ir.AffineMap.get_identity(out_map.n_dims):
        return None
    body = op.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    if len(ops) != 2 or ops[1].name != "linalg.yield":
        return None
    inner = ops[0]
    if len(inner.results) != 1 or ops[1].operands[0] != inner.results[0]:
        return None
    operands = []
    for v in inner.operands:
        if isinstance(v.owner, ir.Block) and v.owner == body:
            index = ir.BlockArgument(v).arg_number
            if index >= n_inputs:
                return None  # reads the output
            operands.append(("in", index))
        else:
            operands.append(("outside", v))
    return inner.name, operands, maps[:n_inputs]


def broadcast_constant(array: np.ndarray, amap: ir.AffineMap, shape: list[int]) -> np.ndarray | None:
    """`array` read through `amap` at every point of a loop domain of `shape`."""
    n = len(shape)
    index = []
    for expr in amap.results:
        if is_a(expr, ir.AffineDimExpr):
            pos = ir.AffineDimExpr(expr).position
            s = [1] * n
            s[pos] = shape[pos]
            index.append(np.arange(shape[pos]).reshape(s))
        elif is_a(expr, ir.AffineConstantExpr):
            index.append(np.full([1] * n, ir.AffineConstantExpr(expr).value))
        else:
            return None
    if array.ndim != len(index):
        return None
    if not index:
        return np.broadcast_to(array, shape)
    return np.broadcast_to(array[tuple(index)], shape)


def is_identity(amap: ir.AffineMap) -> bool:
    return amap == ir.AffineMap.get_identity(amap.n_dims)


# --- analysis ---------------------------------------------------------------

def analyze(value: ir.Value, *, depth: int = 0) -> Projection:
    """The projection that `value` is; raises NotAProjection with the reason otherwise."""
    if depth > 64:
        raise NotAProjection("expression too deep")
    op = producer(value)
    if op is None:
        raise NotAProjection("a function argument")
    name = op.name
    if name.startswith("linalg.") and (product := plain_matmul(op)) is not None:
        return _matmul(product)
    if name in DATA_MOVEMENT:
        return _moved_by(op, analyze(op.operands[0], depth=depth + 1))
    if name == "tensor.concat":
        return _concat(op, depth)
    if name == "linalg.generic":
        return _elementwise(op, depth)
    raise NotAProjection(f"'{name}' is not a projection op")


def projection_or_none(value: ir.Value) -> Projection | None:
    """`analyze(value)`, or None when the value is not a projection."""
    try:
        return analyze(value)
    except NotAProjection:
        return None


# Ops that only move entries: the value's (rows, cols) move like its data.
DATA_MOVEMENT = ("tensor.expand_shape", "tensor.collapse_shape", "linalg.transpose",
                 "tensor.extract_slice")


def _moved_by(op: ir.Operation, inner: Projection) -> Projection:
    """`inner` seen through the data movement `op` (one of DATA_MOVEMENT)."""
    _shape(op.operands[0])  # a static source: column_view's one-token rows stop here
    if op.name == "linalg.transpose":
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        return _moved(inner, op, np.transpose(inner.rows, perm), np.transpose(inner.cols, perm))
    shape = _shape(op.results[0])
    if op.name == "tensor.extract_slice":
        index = _static_slice(op)
        return _moved(inner, op, inner.rows[index].reshape(shape), inner.cols[index].reshape(shape))
    return _moved(inner, op, inner.rows.reshape(shape), inner.cols.reshape(shape))


def _moved(inner: Projection, op, rows, cols) -> Projection:
    return Projection(inner.x, inner.weights, np.ascontiguousarray(rows), np.ascontiguousarray(cols),
                      _union(inner.ops, [op]), inner.sources, inner.matmuls, inner.bias,
                      inner.bias_input)


def column_view(value: ir.Value, *, depth: int = 0) -> Projection:
    """`value` as entries of one product `x @ W` (+ a per-column constant bias), moved
    by data movement only; raises NotAProjection with the reason otherwise.

    `ops[0]` is the product, then each op reads the one before; `weights` is `W`
    (a constant right operand, as [K, N] even when the product reads it as [N, K]
    through its map); the product accumulates into zeros.
    """
    if depth > 64:
        raise NotAProjection("expression too deep")
    op = producer(value)
    if op is None:
        raise NotAProjection("a function argument")
    if op.name in DATA_MOVEMENT:
        return _moved_by(op, column_view(op.operands[0], depth=depth + 1))
    product = classify(op) if op.name.startswith("linalg.") else None
    reading = product.layout() if product is not None else None
    if reading is not None and reading.batch == 0 and not reading.lhs_transposed:
        if product.rhs != op.operands[1] or constant_array(product.rhs) is None:
            raise NotAProjection("the product's weight is not a constant")
        return _matmul(product, dynamic_rows=True, rhs_transposed=reading.rhs_transposed)
    if op.name == "linalg.generic":
        return _biased(op, depth)
    raise NotAProjection(f"'{op.name}' is neither a product nor data movement")


def _dims_read(amap: ir.AffineMap) -> list[int]:
    return [ir.AffineDimExpr(e).position for e in amap.results if is_a(e, ir.AffineDimExpr)]


def _biased(op: ir.Operation, depth: int) -> Projection:
    """`view + b` with `b` a constant input that takes one value per column."""
    body = elementwise_body(op)
    if body is None or body[0] != "arith.addf":
        raise NotAProjection("generic that is not an element-wise add")
    _, operands, maps = body
    for this, other in ((0, 1), (1, 0)):
        (where, index), (bias_where, bias_index) = operands[this], operands[other]
        if where != "in" or bias_where != "in" or not is_identity(maps[index]):
            continue
        array = constant_array(op.operands[bias_index])
        if array is None:
            continue
        inner = column_view(op.operands[index], depth=depth + 1)
        if inner.bias is not None:
            raise NotAProjection("a second bias")
        t = ir.RankedTensorType(op.results[0].type)
        if any(t.is_dynamic_dim(d) for d in _dims_read(maps[bias_index])):
            raise NotAProjection("bias read along a dynamic (token) dimension")
        full = broadcast_constant(array, maps[bias_index], one_token_shape(op.results[0]))
        if full is None:
            raise NotAProjection("bias read through an unsupported map")
        per_column = np.zeros(inner.weights.shape[1])
        per_column[inner.cols.reshape(-1)] = full.reshape(-1)
        if not np.array_equal(per_column[inner.cols], full):
            raise NotAProjection("bias varies along the token axis")
        return Projection(inner.x, inner.weights, inner.rows, inner.cols, _union(inner.ops, [op]),
                          _union(inner.sources, [producer(op.operands[bias_index])]),
                          inner.matmuls, per_column, (op, bias_index))
    raise NotAProjection("add of something other than a constant bias")


def plain_matmul(op: ir.Operation) -> Contraction | None:
    """`op` as a plain `[M, K] x [K, N] -> [M, N]` product (named or generic), else None."""
    product = classify(op)
    if product is None or product.layout() != ProductLayout(0, False, False):
        return None
    return product


def _matmul(product: Contraction, *, dynamic_rows: bool = False,
            rhs_transposed: bool = False) -> Projection:
    """The product as a projection; with `dynamic_rows`, a dynamic row count is taken as
    one row (only for column_view: `materialize` needs every row); `rhs_transposed` when
    the weight is read as [N, K] (through the map `(m, n, k) -> (n, k)`)."""
    op = product.op
    x, w, init = op.operands[0], op.operands[1], op.operands[2]
    weight = constant_weight(w)
    if weight is None:
        raise NotAProjection("matmul whose right operand is not constant")
    if not is_zero_fill(init):
        raise NotAProjection("matmul that accumulates into a non-zero tensor")
    array, sources = weight
    if rhs_transposed:
        array = array.T
    result = ir.RankedTensorType(op.results[0].type)
    if dynamic_rows and result.is_dynamic_dim(0) and not result.is_dynamic_dim(1):
        rows_n, cols_n = one_token_shape(op.results[0])
    else:
        rows_n, cols_n = _shape(op.results[0])
    rows = np.broadcast_to(np.arange(rows_n)[:, None], (rows_n, cols_n))
    cols = np.broadcast_to(np.arange(cols_n)[None, :], (rows_n, cols_n))
    return Projection(x, np.asarray(array, dtype=np.float64), rows, cols, [op], sources, 1)


def _static_slice(op: ir.Operation):
    attrs = op.attributes
    offsets = list(ir.DenseI64ArrayAttr(attrs["static_offsets"]))
    sizes = list(ir.DenseI64ArrayAttr(attrs["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(attrs["static_strides"]))
    if len(op.operands) != 1 or any(v < 0 for v in offsets + sizes + strides):
        raise NotAProjection("dynamic slice")
    # index arrays rather than slices: a stride may be 0 (every index reads one element)
    return np.ix_(*[o + st * np.arange(n) for o, n, st in zip(offsets, sizes, strides)])


def _concat(op: ir.Operation, depth: int) -> Projection:
    dim = ir.IntegerAttr(op.attributes["dim"]).value
    parts = [analyze(v, depth=depth + 1) for v in op.operands]
    first = parts[0]
    for p in parts[1:]:
        if p.x != first.x:
            raise NotAProjection("concatenation of projections of different inputs")
    offsets = np.cumsum([0] + [p.weights.shape[1] for p in parts[:-1]])
    weights = np.concatenate([p.weights for p in parts], axis=1)
    rows = np.concatenate([p.rows for p in parts], axis=dim)
    cols = np.concatenate([p.cols + off for p, off in zip(parts, offsets)], axis=dim)
    ops, sources = [op], []
    for p in parts:
        ops, sources = _union(ops, p.ops), _union(sources, p.sources)
    return Projection(first.x, weights, rows, cols, ops, sources, sum(p.matmuls for p in parts))


def _elementwise(op: ir.Operation, depth: int) -> Projection:
    body = elementwise_body(op)
    if body is None:
        raise NotAProjection("generic that is not one element-wise arithmetic op")
    kind, operands, maps = body
    shape = _shape(op.results[0])
    if kind == "arith.negf":
        p = _input_projection(op, operands[0], maps, depth)
        return Projection(p.x, -p.weights, p.rows, p.cols, _union(p.ops, [op]), p.sources, p.matmuls)
    if kind == "arith.mulf":
        return _scaled(op, operands, maps, shape, depth)
    if kind in ("arith.addf", "arith.subf"):
        a = _input_projection(op, operands[0], maps, depth)
        b = _input_projection(op, operands[1], maps, depth)
        return combine(a, b, kind == "arith.subf", [op])
    raise NotAProjection(f"element-wise '{kind}' does not keep a projection")


def _input_projection(op, operand, maps, depth) -> Projection:
    where, index = operand
    if where != "in" or not is_identity(maps[index]):
        raise NotAProjection("element-wise operand that is not read one-to-one")
    return analyze(op.operands[index], depth=depth + 1)


def _constant_operand(op, operand, maps, shape) -> tuple[np.ndarray, list]:
    where, ref = operand
    if where == "outside":
        array = constant_array(ref)
        if array is None or array.size != 1:
            raise NotAProjection("factor is not a constant")
        return np.full(shape, float(array.reshape(-1)[0])), [producer(ref)]
    value = op.operands[ref]
    array = constant_array(value)
    if array is None:
        raise NotAProjection("factor is not a constant")
    full = broadcast_constant(array, maps[ref], shape)
    if full is None:
        raise NotAProjection("factor read through an unsupported map")
    return full, [producer(value)]


def _scaled(op, operands, maps, shape, depth) -> Projection:
    errors = []
    for this, other in ((0, 1), (1, 0)):
        try:
            factor, factor_sources = _constant_operand(op, operands[other], maps, shape)
        except NotAProjection as e:
            errors.append(str(e))
            continue
        p = _input_projection(op, operands[this], maps, depth)
        return scale_columns(p, factor, [op], factor_sources)
    raise NotAProjection(errors[0] if errors else "no constant factor")


def scale_columns(p: Projection, factor: np.ndarray, ops: list, sources: list) -> Projection:
    """`p * factor` as a projection: needs one factor value per column of M."""
    per_column = np.ones(p.weights.shape[1])
    per_column[p.cols.reshape(-1)] = factor.reshape(-1)
    if not np.array_equal(per_column[p.cols], factor):
        raise NotAProjection("factor varies along the token axis")
    return Projection(p.x, p.weights * per_column[None, :], p.rows, p.cols,
                      _union(p.ops, ops), _union(p.sources, sources), p.matmuls)


def combine(a: Projection, b: Projection, subtract: bool, ops: list) -> Projection:
    """`a +- b` as a projection: same input, same rows, one column per column pair."""
    if a.x != b.x:
        raise NotAProjection("sum of projections of different inputs")
    if not np.array_equal(a.rows, b.rows):
        raise NotAProjection("sum of projections with different token rows")
    jb = b.weights.shape[1]
    pairs = a.cols.astype(np.int64) * jb + b.cols
    unique, inverse = np.unique(pairs.reshape(-1), return_inverse=True)
    if len(unique) > a.weights.shape[1] + b.weights.shape[1]:
        raise NotAProjection("the columns of the two sides do not pair up")
    sign = -1.0 if subtract else 1.0
    weights = a.weights[:, unique // jb] + sign * b.weights[:, unique % jb]
    return Projection(a.x, weights, a.rows, inverse.reshape(a.cols.shape),
                      _union(a.merged_ops(b), ops), a.merged_sources(b), a.matmuls + b.matmuls)


# --- legality and rebuilding ------------------------------------------------

def check_dies(p: Projection, root: ir.Operation) -> None:
    """Every op of the projection except `root` must be used only inside it."""
    for op in p.ops:
        if op == root:
            continue
        for r in op.results:
            for user in users(r):
                if user not in p.ops:
                    what = "matmul result" if op.name == "linalg.matmul" else f"'{op.name}' result"
                    raise NotAProjection(f"{what} has other users")


@dataclass
class Layout:
    """How to rebuild a projection: x @ weights -> expand to `expanded` -> transpose."""

    weights: np.ndarray            # [K, C]
    rows: int
    expanded: list[int]
    reassociation: list[list[int]]
    permutation: list[int] | None  # None when no transpose is needed


def layout(p: Projection, x_rows: int) -> Layout:
    """Split the value's dims into token dims (rows of x in order) and channel dims."""
    shape = list(p.rows.shape)
    n = len(shape)
    row_dims, col_dims, free_dims = [], [], []
    for d in range(n):
        varies_rows = shape[d] > 1 and not np.all(np.diff(p.rows, axis=d) == 0)
        varies_cols = shape[d] > 1 and not np.all(np.diff(p.cols, axis=d) == 0)
        if varies_rows and varies_cols:
            raise NotAProjection(f"dimension {d} mixes tokens and channels")
        if varies_rows:
            row_dims.append(d)
        elif varies_cols:
            col_dims.append(d)
        elif shape[d] == 1:
            free_dims.append(d)
        else:
            raise NotAProjection(f"dimension {d} repeats the same values (a broadcast)")
    if col_dims and (not row_dims or max(row_dims) < min(col_dims)) and min(col_dims) > 0:
        # Tokens before channels: size-1 dims join either group in place, no transpose.
        row_dims = list(range(min(col_dims)))
        col_dims, free_dims = list(range(min(col_dims), n)), []
    if not row_dims:
        if not free_dims:
            raise NotAProjection("no dimension to hold the token rows")
        row_dims.append(free_dims.pop(0))
    order = row_dims + col_dims + free_dims
    if not col_dims and not free_dims:
        raise NotAProjection("no channel dimension")
    rows_t = np.transpose(p.rows, order).reshape(int(np.prod([shape[d] for d in row_dims])), -1)
    cols_t = np.transpose(p.cols, order).reshape(rows_t.shape)
    if rows_t.shape[0] != x_rows or not np.array_equal(rows_t[:, 0], np.arange(x_rows)):
        raise NotAProjection("token rows are not all rows of the input in order")
    weights = p.weights[:, cols_t[0]]
    expanded = [shape[d] for d in order]
    reassociation = [list(range(len(row_dims))), list(range(len(row_dims), n))]
    permutation = None if order == list(range(n)) else [int(i) for i in np.argsort(order)]
    return Layout(weights, rows_t.shape[0], expanded, reassociation, permutation)


def materialize(p: Projection, lay: Layout, element_type: ir.Type) -> ir.Value:
    """Build `x @ weights` (+ expand_shape, transpose) at the current insertion point."""
    k, c = lay.weights.shape
    f32 = element_type
    w_type = ir.RankedTensorType.get([k, c], f32)
    w = create_weight(lay.weights.astype(_np_dtype(f32)), w_type)
    out_type = ir.RankedTensorType.get([lay.rows, c], f32)
    zero = _zero_filled(out_type)
    result = as_value(linalg.matmul(p.x, w, outs=[zero]))
    if lay.expanded != [lay.rows, c]:
        exp_type = ir.RankedTensorType.get(lay.expanded, f32)
        result = tensor.expand_shape(exp_type, result, _reassociation(lay.reassociation),
                                     output_shape=[], static_output_shape=lay.expanded)
        result = as_value(result)
    if lay.permutation is not None:
        final_shape = [lay.expanded[i] for i in lay.permutation]
        empty = tensor.EmptyOp(final_shape, f32).result
        result = linalg.transpose(result, outs=[empty], permutation=lay.permutation)
    return as_value(result)


def as_value(x) -> ir.Value:
    """A builder's result as a Value (some builders return the op)."""
    if isinstance(x, ir.Value):
        return x
    return _op(x).results[0]


def _np_dtype(t: ir.Type):
    return numpy_dtype(t) or np.float32


def _zero_filled(t: ir.RankedTensorType) -> ir.Value:
    empty = tensor.EmptyOp(list(t.shape), t.element_type).result
    zero = arith.ConstantOp(t.element_type, ir.FloatAttr.get(t.element_type, 0.0)).result
    return as_value(linalg.fill(zero, outs=[empty]))


def _reassociation(groups: list[list[int]]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, g) for g in group])
                             for group in groups])


def projection_flops(p: Projection) -> int:
    return sum(op_flops(op) for op in p.ops)


def matmul_flops(x_rows: int, k: int, c: int) -> int:
    return 2 * x_rows * k * c


__all__ = ["Projection", "NotAProjection", "analyze", "column_view", "DATA_MOVEMENT",
           "one_token_shape", "producer", "as_value", "check_dies", "layout", "materialize",
           "scale_columns", "combine", "constant_weight", "elementwise_body",
           "broadcast_constant", "is_identity", "projection_flops", "matmul_flops"]
