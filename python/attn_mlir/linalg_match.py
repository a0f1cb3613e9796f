"""Small matchers over linalg-on-tensors IR shared by the rewrite passes.

Each helper answers one question about a value or an op (who produces it,
who uses it, is it a zero fill, which loop dims an operand map reads) and
returns None / False when the answer is "no", so a pass's match reads as a
ladder of early returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir

from .constants import constant_array, is_a

MATMUL_OPS = ("linalg.matmul", "linalg.batch_matmul")


def producer(value: ir.Value) -> ir.Operation | None:
    """The op that defines `value`, or None for a block argument."""
    if isinstance(value, ir.BlockArgument):
        return None
    owner = value.owner
    return owner.operation if hasattr(owner, "operation") else owner


def producer_named(value: ir.Value, name: str) -> ir.Operation | None:
    op = producer(value)
    return op if op is not None and op.name == name else None


def users(value: ir.Value) -> list[ir.Operation]:
    """The ops that use `value` (an op using it twice appears twice)."""
    out = []
    for use in value.uses:
        owner = use.owner
        out.append(owner.operation if hasattr(owner, "operation") else owner)
    return out


def same_op(a: ir.Operation, b: ir.Operation) -> bool:
    return a.operation == b.operation


def erase(op: ir.Operation, rewriter=None) -> None:
    """Erase `op` (no uses left): through `rewriter`, the greedy driver's PatternRewriter,
    when a rewrite run by the driver erases it, so that the driver forgets it."""
    if rewriter is not None:
        rewriter.erase_op(op)
    else:
        op.erase()


def erase_if_dead(op: ir.Operation | None, rewriter=None) -> bool:
    """Erase `op` when none of its results is used any more."""
    if op is None or any(len(users(r)) for r in op.results):
        return False
    erase(op, rewriter)
    return True


def erase_with_init(op: ir.Operation, rewriter=None) -> bool:
    """Erase a dead destination-style op, and then its init if that is dead too."""
    init = producer(op.operands[len(op.operands) - 1]) if len(op.operands) else None
    if not erase_if_dead(op, rewriter):
        return False
    if init is not None and init.name == "tensor.empty":
        erase_if_dead(init, rewriter)
    return True


def numel(value: ir.Value) -> int:
    """Elements of a statically shaped tensor value (0 if not static)."""
    t = tensor_type(value)
    if t is None or not t.has_static_shape:
        return 0
    return int(np.prod(t.shape, dtype=np.int64))


def tensor_type(value: ir.Value) -> ir.RankedTensorType | None:
    if not is_a(value.type, ir.RankedTensorType):
        return None
    return ir.RankedTensorType(value.type)


def static_shape(value: ir.Value) -> list[int] | None:
    t = tensor_type(value)
    if t is None or not t.has_static_shape:
        return None
    return list(t.shape)


def nbytes(value: ir.Value) -> int:
    """Bytes held by a statically shaped tensor value (0 if not static)."""
    t = tensor_type(value)
    if t is None or not t.has_static_shape:
        return 0
    return int(np.prod(t.shape, dtype=np.int64)) * max(1, t.element_type.width // 8) \
        if hasattr(t.element_type, "width") else 0


# The default maps of named contractions live in one place, match.contraction.
from .match.contraction import DEFAULT_MAPS, operand_maps  # noqa: E402,F401 (re-exported)


def dims_of(affine_map: ir.AffineMap) -> list[int] | None:
    """The loop dims a map's results read, if every result is a plain dim."""
    out = []
    for expr in affine_map.results:
        if not isinstance(expr, ir.AffineDimExpr):
            return None
        out.append(expr.position)
    return out


def make_map(num_dims: int, dims: list[int]) -> ir.AffineMap:
    return ir.AffineMap.get(num_dims, 0, [ir.AffineDimExpr.get(d) for d in dims])


def set_operand_map(op: ir.Operation, index: int, dims: list[int]) -> None:
    maps = operand_maps(op)
    maps[index] = make_map(maps[index].n_dims, dims)
    op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])


def scalar_constant(value: ir.Value) -> float | None:
    """The number held by a scalar constant or a splat tensor constant."""
    array = constant_array(value)
    if array is None or array.size == 0:
        return None
    flat = array.reshape(-1)
    if not np.all(flat == flat[0]):
        return None
    return float(flat[0])


def is_zero_fill(value: ir.Value) -> bool:
    """Whether `value` is all zeros: `linalg.fill` of 0, or a zero constant."""
    fill = producer_named(value, "linalg.fill")
    if fill is not None:
        return scalar_constant(fill.operands[0]) == 0.0
    return scalar_constant(value) == 0.0


def block_arg_index(value: ir.Value, block: ir.Block) -> int | None:
    """The argument number of `value` if it is an argument of `block`."""
    if isinstance(value, ir.BlockArgument) and value.owner == block:
        return value.arg_number
    return None


def generic_body(op: ir.Operation) -> ir.Block:
    return op.regions[0].blocks[0]


def body_ops(op: ir.Operation) -> list[ir.Operation]:
    return [o.operation for o in generic_body(op).operations]


def all_parallel(op: ir.Operation) -> bool:
    return all("parallel" in str(t) for t in ir.ArrayAttr(op.attributes["iterator_types"]))


def num_inputs(op: ir.Operation) -> int:
    """Number of `ins` operands of a destination-style linalg op."""
    sizes = op.attributes["operandSegmentSizes"]
    return list(ir.DenseI32ArrayAttr(sizes))[0]


def function_of(op: ir.Operation) -> ir.Operation | None:
    while op is not None and op.name != "func.func":
        op = op.parent
    return op


# Generic ops seen as small expressions over their block arguments (raising).


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
            return scalar_constant(self.inputs[i])
        return scalar_constant(value)


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
        is_row_broadcast(g.maps[len(g.inputs) + i], rank, static_shape(o))
        for i, o in enumerate(g.outputs))


def body_pair(g: Generic, op) -> tuple[int | None, int | None]:
    """Operand indices of a binary body op's two operands (None where not a block argument)."""
    return g.arg_index(op.operands[0]), g.arg_index(op.operands[1])


def permutation(op) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
