"""What a rewrite costs: FLOPs of ops and bytes of constants, and the weight budget.

Rewrites that fold work into constant weights trade FLOPs for constant bytes.
Every such rewrite asks two questions here before it fires: does it add
FLOPs (`op_flops`, summed over what it removes and what it adds), and does it
keep the function's constant bytes within the budget (`WeightBudget`)?

FLOP counting: a `linalg.matmul` [M,K]x[K,N] costs 2*M*N*K, a
`linalg.batch_matmul` 2*B*M*N*K, a `linalg.generic` (number of loop
iterations) x (floating-point arithmetic ops in its body). Sign flips
(`arith.negf`), selections and comparisons count as free: they are data
movement, not arithmetic. Data-movement ops (reshapes, transposes, slices,
concatenations, fills) cost 0 FLOPs.

Constant bytes: the sum over tensor-typed `arith.constant`s that still have
users of (element count x element size); scalars are free.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from .constants import is_a
from .ir_utils import walk_ops

_FREE_BODY_OPS = {"arith.negf", "arith.select", "arith.cmpf", "arith.cmpi", "linalg.yield",
                  "linalg.index", "arith.index_cast", "arith.constant", "tensor.extract",
                  "arith.extf", "arith.truncf", "arith.bitcast"}


def _op(op) -> ir.Operation:
    return op.operation if hasattr(op, "operation") else op


def _static_shape(t: ir.Type) -> list[int] | None:
    if not is_a(t, ir.RankedTensorType):
        return None
    ranked = ir.RankedTensorType(t)
    if not ranked.has_static_shape:
        return None
    return list(ranked.shape)


def op_flops(op) -> int:
    """Floating-point operations one execution of `op` performs (see module doc)."""
    op = _op(op)
    if op.name == "linalg.matmul":
        a, b = (_static_shape(v.type) for v in op.operands[:2])
        if a and b:
            return 2 * a[0] * a[1] * b[1]
        return 0
    if op.name == "linalg.batch_matmul":
        a, b = (_static_shape(v.type) for v in op.operands[:2])
        if a and b:
            return 2 * a[0] * a[1] * a[2] * b[2]
        return 0
    if op.name == "linalg.generic":
        maps = [ir.AffineMapAttr(m).value for m in op.attributes["indexing_maps"]]
        loops = _loop_ranges(op, maps)
        if loops is None:
            return 0
        body = op.regions[0].blocks[0]
        arithmetic = sum(1 for inner in body.operations
                         if inner.operation.name not in _FREE_BODY_OPS
                         and inner.operation.name.startswith(("arith.", "math.")))
        return int(np.prod(loops)) * arithmetic
    return 0


def _loop_ranges(op: ir.Operation, maps) -> list[int] | None:
    ranges: list[int | None] = [None] * maps[0].n_dims
    for value, amap in zip(op.operands, maps):
        shape = _static_shape(value.type)
        if shape is None:
            continue
        for size, expr in zip(shape, amap.results):
            if is_a(expr, ir.AffineDimExpr):
                ranges[ir.AffineDimExpr(expr).position] = size
    if any(r is None for r in ranges):
        return None
    return ranges  # type: ignore[return-value]


def function_flops(root) -> int:
    """FLOPs of every op nested under `root`."""
    return sum(op_flops(op) for op in walk_ops(_op(root)))


def constant_bytes_of(op) -> int:
    """Bytes one `arith.constant` holds (0 for scalars and non-constants)."""
    op = _op(op)
    if op.name != "arith.constant":
        return 0
    shape = _static_shape(op.results[0].type)
    if shape is None:
        return 0
    element = ir.RankedTensorType(op.results[0].type).element_type
    width = 1 if str(element) == "i1" else max(1, _bit_width(element) // 8)
    return int(np.prod(shape)) * width


def _bit_width(t: ir.Type) -> int:
    for cls in (ir.FloatType, ir.IntegerType):
        if is_a(t, cls):
            return cls(t).width
    return 32


def constant_bytes(root) -> int:
    """Bytes of the tensor constants under `root` that still have users."""
    total = 0
    for op in walk_ops(_op(root), "arith.constant"):
        if any(True for _ in op.results[0].uses):
            total += constant_bytes_of(op)
    return total


def enclosing_function(op) -> ir.Operation | None:
    op = _op(op)
    while op is not None and op.name != "func.func":
        op = op.parent
    return op


# Baselines set by a pipeline (attn-optimize) so that repeated rounds cannot
# compound growth: function name -> constant bytes at the pipeline's start.
_BASELINES: dict[str, int] = {}


def set_baselines(baselines: dict[str, int]) -> None:
    _BASELINES.clear()
    _BASELINES.update(baselines)


def clear_baselines() -> None:
    _BASELINES.clear()


class WeightBudget:
    """Total constant bytes of a function may grow to `max_growth` x its baseline.

    The baseline is the size when the enclosing pipeline started (see
    `set_baselines`), else the size when this budget was made.
    """

    def __init__(self, func_op, max_growth: float = 1.0):
        self.func_op = _op(func_op)
        self.max_growth = max_growth
        name = ir.StringAttr(self.func_op.attributes["sym_name"]).value
        self.baseline = _BASELINES.get(name)
        if self.baseline is None:
            self.baseline = constant_bytes(self.func_op)

    @property
    def limit(self) -> float:
        return self.max_growth * self.baseline

    def allows(self, delta: int) -> bool:
        """Whether adding `delta` constant bytes keeps the function within budget."""
        return delta <= 0 or constant_bytes(self.func_op) + delta <= self.limit

    def describe(self, delta: int) -> str:
        return (f"would grow constants by {delta} bytes to {constant_bytes(self.func_op) + delta} "
                f"(limit {int(self.limit)} = max-weight-growth {self.max_growth:g} x "
                f"{self.baseline})")


def users(value: ir.Value) -> list[ir.Operation]:
    return [_op(use.owner) for use in value.uses]


def dying_ops(roots: list, extra_candidates: list) -> list[ir.Operation]:
    """`roots` (which will be erased) plus every op of `extra_candidates` whose
    results are used only by ops that die; the latter's producers are tried too."""
    dying = [_op(o) for o in roots]
    candidates = [_op(o) for o in extra_candidates]
    changed = True
    while changed:
        changed = False
        for op in list(candidates):
            if op in dying:
                continue
            if all(u in dying for r in op.results for u in users(r)):
                dying.append(op)
                changed = True
                for operand in op.operands:
                    owner = operand.owner
                    if isinstance(owner, (ir.OpView, ir.Operation)) and _op(owner) not in candidates:
                        candidates.append(_op(owner))
    return dying


def erase_dead(ops: list) -> None:
    """Erase the ops among `ops` that have no users, repeatedly (users first)."""
    pending = [_op(o) for o in ops]
    changed = True
    while changed:
        changed = False
        for op in list(pending):
            if all(not any(True for _ in r.uses) for r in op.results):
                producers = [_op(v.owner) for v in op.operands
                             if isinstance(v.owner, (ir.OpView, ir.Operation))]
                pending.remove(op)
                op.erase()
                changed = True
                for p in producers:
                    if p.name in ("arith.constant", "linalg.transpose", "linalg.fill",
                                  "tensor.empty") and p not in pending:
                        pending.append(p)
