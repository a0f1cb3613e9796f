"""Small matchers over linalg-on-tensors IR, shared by raising passes.

Each matcher takes a value or an op and returns what it bound, or None when
the IR does not have the expected form: the caller reads as a ladder of early
returns. Frontends emit every elementwise step as its own `linalg.generic`
with scalars captured from outside the body, so the matchers look at a
generic's body as one small expression over its block arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir

from .constants import constant_array


def producer(value) -> ir.Operation | None:
    """The op defining `value`, or None for a block argument."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation if hasattr(owner, "operation") else owner


def shape(value) -> list[int] | None:
    try:
        t = ir.RankedTensorType(value.type)
    except ValueError:
        return None
    return list(t.shape) if t.has_static_shape else None


@dataclass
class Generic:
    """A linalg.generic seen as loops, maps and a body expression."""

    op: ir.Operation
    maps: list
    iterators: list[str]
    inputs: list
    outputs: list
    block: ir.Block

    @property
    def body(self) -> list[ir.Operation]:
        return [o for o in self.block.operations][:-1]

    @property
    def yielded(self) -> list:
        return list(list(self.block.operations)[-1].operands)

    def arg_index(self, value) -> int | None:
        """The operand index of a body value that is a block argument of this generic."""
        if isinstance(value.owner, ir.Block) and value.owner == self.block:
            return value.arg_number
        return None

    def is_identity(self, i: int) -> bool:
        m = self.maps[i]
        return (len(m.results) == m.n_dims and all(
            isinstance(e, ir.AffineDimExpr) and e.position == k for k, e in enumerate(m.results)))

    def scalar(self, value) -> float | None:
        """A body value that is a float constant: captured, in the body, or a splat input."""
        i = self.arg_index(value)
        if i is not None:
            if i >= len(self.inputs):
                return None
            return splat(self.inputs[i])
        return splat(value)


def as_generic(op) -> Generic | None:
    if op is None or op.name != "linalg.generic":
        return None
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    iterators = ["parallel" if "parallel" in str(a) else "reduction"
                 for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    n_out = len(op.results)
    operands = list(op.operands)
    return Generic(op, maps, iterators, operands[:len(operands) - n_out],
                   operands[len(operands) - n_out:], op.regions[0].blocks[0])


def elementwise(value) -> Generic | None:
    """The producer of `value` if it is an all-parallel generic with one identity-mapped result."""
    g = as_generic(producer(value))
    if g is None or len(g.outputs) != 1 or any(it != "parallel" for it in g.iterators):
        return None
    if not g.is_identity(len(g.inputs)):
        return None
    return g


def single_body_op(g: Generic, name: str) -> ir.Operation | None:
    """The one op of g's body if it is named `name` and is what the body yields."""
    body = g.body
    if len(body) != 1 or body[0].name != name or len(g.yielded) != 1:
        return None
    if g.yielded[0] != body[0].results[0]:
        return None
    return body[0]


def splat(value) -> float | None:
    """The float value of a scalar or splat constant, else None."""
    array = constant_array(value) if producer(value) is not None else None
    if array is None or array.size == 0:
        return None
    flat = np.asarray(array).reshape(-1)
    if not np.all(flat == flat[0]) and not np.all(np.isnan(flat)):
        return None
    return float(flat[0])


def is_zero_fill(value) -> bool:
    """Whether `value` is a linalg.fill of the constant 0."""
    op = producer(value)
    return op is not None and op.name == "linalg.fill" and splat(op.operands[0]) == 0.0


def reassociation(op) -> list[list[int]]:
    return [[ir.IntegerAttr(i).value for i in ir.ArrayAttr(group)]
            for group in ir.ArrayAttr(op.attributes["reassociation"])]


def is_leading_reshape(op) -> bool:
    """An expand/collapse_shape that leaves the last two dims alone (regroups batch dims)."""
    if op is None or op.name not in ("tensor.expand_shape", "tensor.collapse_shape"):
        return False
    groups = reassociation(op)
    return len(groups) >= 2 and len(groups[-1]) == 1 and len(groups[-2]) == 1


def strip_leading_reshapes(value, collected: list | None = None):
    """Walk up through leading reshapes; `collected` gets them, nearest first."""
    while is_leading_reshape(producer(value)):
        op = producer(value)
        if collected is not None:
            collected.append(op)
        value = op.operands[0]
    return value


def is_row_broadcast(m, rank: int, src_shape) -> bool:
    """Map reading a per-row tensor ([..] or [.., 1]) in a loop nest over [.., N]."""
    res = list(m.results)
    lead = [isinstance(e, ir.AffineDimExpr) and e.position == k for k, e in enumerate(res[:rank - 1])]
    if len(res) == rank - 1:
        return all(lead)
    if len(res) == rank and all(lead[:rank - 1]):
        last = res[-1]
        return isinstance(last, ir.AffineConstantExpr) and last.value == 0 and src_shape[-1] == 1
    return False


def reduction_over_last(g: Generic, rank: int) -> bool:
    """All loops parallel but the last, which is reduced; input identity; output per row."""
    if g.iterators != ["parallel"] * (rank - 1) + ["reduction"]:
        return False
    return g.is_identity(0) and all(
        is_row_broadcast(g.maps[len(g.inputs) + i], rank, shape(o))
        for i, o in enumerate(g.outputs))


def body_pair(g: Generic, op) -> tuple[int | None, int | None]:
    """Operand indices of a binary body op's two operands (None where not a block argument)."""
    return g.arg_index(op.operands[0]), g.arg_index(op.operands[1])


def permutation(op) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
