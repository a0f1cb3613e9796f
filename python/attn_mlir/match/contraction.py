"""One contraction classifier for named and generic matrix products.

    C[b.., m, n] (+)= sum_k A[b.., m, k] * B[b.., k, n]

`classify(op)` accepts any linalg op that the bindings call a contraction
(`linalg.isa_contraction_op`: a multiply-accumulate body, the loops split into
batch/m/n/k by `linalg.infer_contraction_dimensions`), so `linalg.matmul`,
`linalg.batch_matmul`, either with `indexing_maps`, `linalg.contract` and a
generic with a `mulf`/`addf` body (in either operand order) are one thing.

`Contraction.layout()` then says whether it is a plain batched matmul: one m,
one n and one k dim, the batch dims leading every operand in the same order,
and the output [b.., m, n]; and which operand is read transposed (A as
[b.., k, m], B as [b.., n, k]: the `Q K^T` of attention read straight from K).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import linalg

from ..constants import constant_array

# The named ops that are contractions without an explicit `indexing_maps` attribute.
_DEFAULT_MAPS = {
    "linalg.matmul": (3, [[0, 2], [2, 1], [0, 1]]),
    "linalg.batch_matmul": (4, [[0, 1, 3], [0, 3, 2], [0, 1, 2]]),
}


@dataclass(frozen=True)
class Layout:
    """A batched matmul's reading of its operands."""

    batch: int                 # number of leading batch dims
    lhs_transposed: bool       # A read as [b.., k, m]
    rhs_transposed: bool       # B read as [b.., n, k]


@dataclass(frozen=True)
class Contraction:
    """A linalg contraction: operands, loop dims by role, and operand maps as dim lists."""

    op: ir.Operation
    lhs: ir.Value
    rhs: ir.Value
    init: ir.Value
    batch: tuple[int, ...]
    m: tuple[int, ...]
    n: tuple[int, ...]
    k: tuple[int, ...]
    lhs_dims: tuple[int, ...]
    rhs_dims: tuple[int, ...]
    out_dims: tuple[int, ...]

    @property
    def result(self) -> ir.Value:
        return self.op.results[0]

    def layout(self) -> Layout | None:
        """The batched-matmul reading of this contraction, or None if it is not one."""
        if len(self.m) != 1 or len(self.n) != 1 or len(self.k) != 1:
            return None
        b = list(self.batch)
        # Every operand leads with the batch dims, in the output's order.
        if set(self.out_dims[:len(b)]) != set(b):
            return None
        lead = list(self.out_dims[:len(b)])
        (m,), (n,), (k,) = self.m, self.n, self.k
        if list(self.out_dims) != lead + [m, n]:
            return None
        if list(self.lhs_dims) == lead + [m, k]:
            lhs_t = False
        elif list(self.lhs_dims) == lead + [k, m]:
            lhs_t = True
        else:
            return None
        if list(self.rhs_dims) == lead + [k, n]:
            rhs_t = False
        elif list(self.rhs_dims) == lead + [n, k]:
            rhs_t = True
        else:
            return None
        return Layout(len(b), lhs_t, rhs_t)

    def zero_init(self) -> bool:
        """Whether the accumulator starts at 0 (`linalg.fill` of 0 or a zero constant)."""
        return _is_zero(self.init)


def operand_maps(op: ir.Operation) -> list[ir.AffineMap]:
    """The indexing maps of a linalg op (the defaults of matmul/batch_matmul if unset)."""
    if "indexing_maps" not in op.attributes:
        if op.name not in _DEFAULT_MAPS:
            return []
        num_dims, dims = _DEFAULT_MAPS[op.name]
        return [ir.AffineMap.get(num_dims, 0, [ir.AffineDimExpr.get(d) for d in ds])
                for ds in dims]
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def _dims(affine_map: ir.AffineMap) -> tuple[int, ...] | None:
    out = []
    for expr in affine_map.results:
        if not isinstance(expr, ir.AffineDimExpr):
            return None
        out.append(expr.position)
    return tuple(out)


def _float_mul_add_body(op: ir.Operation) -> bool:
    """A generic's body multiplies and adds floats (isa_contraction_op also takes ints/bools)."""
    names = {o.operation.name for o in op.regions[0].blocks[0].operations}
    return "arith.mulf" in names and "arith.addf" in names


def classify(op) -> Contraction | None:
    """The contraction `op` computes (two inputs, one output), or None."""
    op = op.operation if hasattr(op, "operation") else op
    if not op.name.startswith("linalg.") or len(op.results) != 1 or len(op.operands) != 3:
        return None
    if not linalg.isa_contraction_op(op):
        return None
    if op.name == "linalg.generic" and not _float_mul_add_body(op):
        return None
    dims = linalg.infer_contraction_dimensions(op)
    if dims is None:
        return None
    maps = operand_maps(op)
    if len(maps) != 3:
        return None
    per_operand = [_dims(m) for m in maps]
    if any(d is None for d in per_operand):
        return None
    lhs, rhs, init = op.operands[0], op.operands[1], op.operands[2]
    return Contraction(op, lhs, rhs, init, tuple(dims.batch), tuple(dims.m), tuple(dims.n),
                       tuple(dims.k), *per_operand)


def matmul_of(value: ir.Value) -> Contraction | None:
    """The contraction producing `value` if it is a batched matmul (`layout()` not None)."""
    if isinstance(value, ir.BlockArgument):
        return None
    c = classify(value.owner)
    if c is None or c.layout() is None:
        return None
    return c


def _is_zero(value: ir.Value) -> bool:
    if isinstance(value, ir.BlockArgument):
        return False
    op = value.owner.operation if hasattr(value.owner, "operation") else value.owner
    if op.name == "linalg.fill":
        value = op.operands[0]
    array = constant_array(value)
    return array is not None and array.size > 0 and not array.any()
