"""What a module costs, per function, and what the rewrites changed.

`count_module(module)` measures each `func.func`:

* `matmuls`: `linalg.matmul` + `linalg.batch_matmul` (and other named
  contractions: matvec, vecmat, dot, batch_reduce_matmul, contract);
* `other_linalg`: every other linalg op (`linalg.yield`/`linalg.index` inside
  bodies are not ops of their own);
* `flops`, by this model: a contraction costs 2 FLOPs per point of its
  iteration space (`2*M*N*K` for a matmul); a `linalg.generic` (or any linalg
  op with a body) costs, per point of its iteration space, one FLOP per
  arithmetic op in its body (`arith.*`/`math.*`, except constants, casts, sign
  flips, comparisons and selections, which are data movement),
  so an elementwise op costs about one FLOP per output element and body op and
  a reduction one per input element and body op; `linalg.softmax` costs 5 per
  element; data movement (`fill`, `transpose`, `copy`, `broadcast`, tensor
  reshapes, slices, concat) costs 0;
* dynamic dims are not counted (an operand with a dynamic shape says nothing
  about the iteration space), so FLOPs of dynamically shaped ops are a lower bound;
* `constant_bytes`: the sizes of the tensor constants (`dense` and
  `dense_resource`) that still have users, as stored.

`compare(before, after, events)` puts two measurements side by side with the
rewrite log's fired/skipped events; `str(report)` is the table that
`attn-opt --attn-report` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mlir import ir

from .ir_utils import functions, symbol_name, walk_ops
from .linalg_match import DEFAULT_MAPS, dims_of, nbytes, numel, operand_maps, tensor_type
from .rewrite_log import RewriteEvent

CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul", "linalg.matvec", "linalg.vecmat",
                "linalg.batch_matvec", "linalg.batch_vecmat", "linalg.dot",
                "linalg.batch_reduce_matmul", "linalg.contract")
DATA_MOVEMENT = ("linalg.fill", "linalg.transpose", "linalg.copy", "linalg.broadcast",
                 "linalg.pack", "linalg.unpack")
NOT_OPS = ("linalg.yield", "linalg.index")
# Sign flips, selections, comparisons and casts are data movement, not arithmetic.
FREE_BODY_OPS = ("arith.constant", "arith.index_cast", "arith.index_castui", "arith.bitcast",
                 "arith.negf", "arith.select", "arith.cmpf", "arith.cmpi", "arith.extf",
                 "arith.truncf", "arith.extui", "arith.extsi", "arith.trunci")
SOFTMAX_FLOPS_PER_ELEMENT = 5


@dataclass
class FunctionCounts:
    matmuls: int = 0
    other_linalg: int = 0
    flops: int = 0
    constant_bytes: int = 0

    FIELDS = (("matmuls", "matmuls"), ("other_linalg", "other linalg ops"),
              ("flops", "FLOPs"), ("constant_bytes", "constant bytes"))


def iteration_points(op: ir.Operation) -> int:
    """The size of a linalg op's iteration space, from its indexing maps and shapes."""
    if "indexing_maps" not in op.attributes and op.name not in DEFAULT_MAPS:
        return max((numel(r) for r in op.results), default=0) or \
            max((numel(v) for v in op.operands), default=0)
    ranges: dict[int, int] = {}
    for value, affine_map in zip(op.operands, operand_maps(op)):
        t, dims = tensor_type(value), dims_of(affine_map)
        if t is None or dims is None or not t.has_static_shape:
            continue  # scalars, dynamic shapes and broadcast maps say nothing new
        for size, dim in zip(t.shape, dims):
            ranges.setdefault(dim, size)
    return int(np.prod(list(ranges.values()), dtype=np.int64)) if ranges else 0


def _body_flops(op: ir.Operation) -> int:
    count = 0
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                name = inner.operation.name
                if name.split(".")[0] in ("arith", "math") and name not in FREE_BODY_OPS:
                    count += 1
    return count


def linalg_flops(op: ir.Operation) -> int:
    """FLOPs of one linalg op, by the model in this module's docstring."""
    if op.name in CONTRACTIONS:
        return 2 * iteration_points(op)
    if op.name in DATA_MOVEMENT:
        return 0
    if op.name == "linalg.softmax":
        return SOFTMAX_FLOPS_PER_ELEMENT * numel(op.results[0])
    return iteration_points(op) * _body_flops(op)


def count_function(func_op: ir.Operation) -> FunctionCounts:
    counts = FunctionCounts()
    for op in walk_ops(func_op):
        if op.name.startswith("linalg.") and op.name not in NOT_OPS:
            if op.name in CONTRACTIONS:
                counts.matmuls += 1
            else:
                counts.other_linalg += 1
            counts.flops += linalg_flops(op)
        elif op.name == "arith.constant" and tensor_type(op.results[0]) is not None and \
                any(True for _ in op.results[0].uses):
            counts.constant_bytes += nbytes(op.results[0])
    return counts


def count_module(module) -> dict[str, FunctionCounts]:
    """Counts for every function of a module (an ir.Module, its operation, or one func)."""
    op = module.operation if isinstance(module, ir.Module) else module
    if op.name == "func.func":
        return {symbol_name(op): count_function(op)}
    return {symbol_name(f): count_function(f) for f in functions(op)}


@dataclass
class Report:
    before: dict[str, FunctionCounts]
    after: dict[str, FunctionCounts]
    events: list[RewriteEvent] = field(default_factory=list)

    def __str__(self) -> str:
        lines = []
        names = list(self.before) + [n for n in self.after if n not in self.before]
        for name in names:
            before = self.before.get(name, FunctionCounts())
            after = self.after.get(name, FunctionCounts())
            lines.append(f"function @{name:<24} {'before':>12} {'after':>12} {'change':>12}")
            for attr, label in FunctionCounts.FIELDS:
                b, a = getattr(before, attr), getattr(after, attr)
                lines.append(f"  {label:<32} {b:>12} {a:>12} {a - b:>+12}")
            lines.extend(format_events([e for e in self.events if e.function == name]))
        orphans = [e for e in self.events if e.function not in names]
        lines.extend(format_events(orphans))
        return "\n".join(lines) + "\n"


def format_events(events: list[RewriteEvent]) -> list[str]:
    lines = []
    for e in events:
        where = f"{e.location}: " if e.location else ""
        if e.fired:
            extra = []
            if e.flops_saved:
                extra.append(f"saves {e.flops_saved} FLOPs")
            if e.constant_bytes_delta:
                extra.append(f"constant bytes {e.constant_bytes_delta:+d}")
            suffix = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"  fired   {e.pass_name}: {where}{e.message}{suffix}")
        else:
            lines.append(f"  skipped {e.pass_name}: {where}{e.message}")
    return lines


def compare(before, after, events: list[RewriteEvent] | None = None) -> Report:
    """A before/after report; `before`/`after` are modules or `count_module` results."""
    if not isinstance(before, dict):
        before = count_module(before)
    if not isinstance(after, dict):
        after = count_module(after)
    if events is None:
        from .rewrite_log import current_log

        events = list(current_log.events)
    return Report(before, after, list(events))


def snapshot(module, events: list[RewriteEvent] | None = None) -> str:
    """The counts of one module (one column) and the events so far, as text."""
    lines = []
    counts = count_module(module)
    for name, c in counts.items():
        lines.append(f"function @{name}")
        for attr, label in FunctionCounts.FIELDS:
            lines.append(f"  {label:<32} {getattr(c, attr):>12}")
        lines.extend(format_events([e for e in events or [] if e.function == name]))
    return "\n".join(lines) + "\n"


__all__ = ["FunctionCounts", "Report", "compare", "count_module", "count_function",
           "linalg_flops", "iteration_points", "snapshot"]
