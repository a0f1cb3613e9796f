"""What a rewrite costs: FLOPs of ops and bytes of constants, and the weight budget.

Rewrites that fold work into constant weights trade FLOPs for constant bytes.
Every such rewrite asks two questions here before it fires: does it add
FLOPs (`op_flops`, summed over what it removes and what it adds), and does it
keep the function's constant bytes within the budget (`WeightBudget`)?

FLOPs and constant bytes are counted by the one model in `attn_mlir.report`
(see its docstring), so reports and legality checks agree.
"""

from __future__ import annotations

from mlir import ir

from .constants import LOAD_WEIGHT, weight_name
from .ir_utils import walk_ops
from .linalg_match import erase, nbytes, users  # noqa: F401 (users: re-exported for passes)
from .report import NOT_OPS, linalg_flops


def _op(op) -> ir.Operation:
    return op.operation if hasattr(op, "operation") else op


def op_flops(op) -> int:
    """Floating-point operations one execution of `op` performs (the model of `report`)."""
    op = _op(op)
    return linalg_flops(op) if op.name.startswith("linalg.") and op.name not in NOT_OPS else 0


def function_flops(root) -> int:
    """FLOPs of every op nested under `root`."""
    return sum(op_flops(op) for op in walk_ops(_op(root)))


def constant_bytes_of(op) -> int:
    """Bytes one `arith.constant`, or load of a weight held in a file, holds (0 for
    scalars and non-constants)."""
    op = _op(op)
    if op.name != "arith.constant" and (op.name != LOAD_WEIGHT or weight_name(op) is None):
        return 0
    return nbytes(op.results[0])


def constant_bytes(root) -> int:
    """Bytes of the tensor constants (and weights loaded from files) under `root` that
    still have users."""
    return sum(constant_bytes_of(op) for op in walk_ops(_op(root))
               if op.name in ("arith.constant", LOAD_WEIGHT)
               and any(True for _ in op.results[0].uses))


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


def erase_dead(ops: list, rewriter=None) -> None:
    """Erase the ops among `ops` that have no users, repeatedly (users first), and the
    dead constants, transposes, fills and empties they read (through `rewriter` when a
    rewrite run by the greedy driver calls this)."""
    pending: list[ir.Operation] = []
    for o in ops:
        if _op(o) not in pending:
            pending.append(_op(o))
    changed = True
    while changed:
        changed = False
        for op in list(pending):
            if all(not any(True for _ in r.uses) for r in op.results):
                producers = [_op(v.owner) for v in op.operands
                             if isinstance(v.owner, (ir.OpView, ir.Operation))]
                pending.remove(op)
                erase(op, rewriter)
                changed = True
                for p in producers:
                    if p.name in ("arith.constant", LOAD_WEIGHT, "linalg.transpose",
                                  "linalg.fill", "tensor.empty") and p not in pending:
                        pending.append(p)
