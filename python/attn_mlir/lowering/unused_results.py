"""Results of a `linalg.generic` that nothing uses are dropped, with the body that computes them.

torch-mlir lowers softmax's `aten.max.dim` to one reduction generic with two
results, the maximum and its index (an argmax), and only the maximum is
used. The index result makes the reduction unvectorisable (a multi-result
reduction) and costs a compare, a select and an index cast per element.
For a generic whose result r is unused:

    generic(ins, outs) -> (..., r, ...)   ==   generic(ins, outs minus r's init) -> (... without r ...)

with r's indexing map, init operand and block argument removed, and the
body ops that only feed r's yielded value erased. Every other result is
computed by the same ops from the same operands, so it is unchanged.

Legality: tensor semantics (as many results as inits), a single-block body,
at least one result still used, and r's block argument read only by ops
that feed r's yielded value alone (otherwise r's accumulator takes part in
a used result, as in a value-and-index pair where the value compares
against it). Body ops without results (`cf.assert`) are always kept.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg

from ..ir_utils import walk_ops
from ..passes import register_pass


def _op(x) -> ir.Operation:
    return x.operation if isinstance(x, ir.OpView) else x


def _body_ops(block: ir.Block) -> list[ir.Operation]:
    return [_op(o) for o in block.operations]


def _live_ops(block: ir.Block, kept_yields: list[ir.Value]) -> set:
    """Body ops that the kept yielded values (and result-less ops) depend on."""
    ops = _body_ops(block)
    inside = {op for op in ops}
    live: set = set()
    stack = [v for v in kept_yields]
    stack += [operand for op in ops[:-1] if len(op.results) == 0
              for operand in op.operands]
    live.update(op for op in ops[:-1] if len(op.results) == 0)
    while stack:
        value = stack.pop()
        owner = value.owner
        if not isinstance(owner, (ir.Operation, ir.OpView)):
            continue  # a block argument
        owner = _op(owner)
        if owner not in inside or owner in live:
            continue
        live.add(owner)
        stack.extend(owner.operands)
        for region in owner.regions:
            for nested in region.blocks:
                for inner in nested.operations:
                    stack.extend(_op(inner).operands)
    return live


def _reads(ops, value: ir.Value) -> bool:
    return any(_op(use.owner) in ops for use in value.uses)


def droppable_results(op: ir.Operation) -> list[int]:
    """Indices of results that can be dropped, or [] (see the module docstring)."""
    results = list(op.results)
    inits = len(results)
    if not results or not all(isinstance(r.type, ir.RankedTensorType) for r in results):
        return []
    if len(op.regions[0].blocks) != 1:
        return []
    unused = [i for i, r in enumerate(results) if not list(r.uses)]
    if not unused or len(unused) == len(results):
        return []  # nothing to drop, or the whole op is dead (DCE's job)
    block = op.regions[0].blocks[0]
    yield_op = _body_ops(block)[-1]
    kept = [i for i in range(len(results)) if i not in unused]
    live = _live_ops(block, [yield_op.operands[i] for i in kept])
    first_init = len(block.arguments) - inits
    return [i for i in unused if not _reads(live, block.arguments[first_init + i])]


def drop_results(op: ir.Operation, drop: list[int]) -> ir.Operation:
    """Rebuild `op` without the results `drop`; returns the new generic."""
    results = list(op.results)
    operands = list(op.operands)
    inputs, inits = operands[:len(operands) - len(results)], operands[len(operands) - len(results):]
    keep = [i for i in range(len(results)) if i not in drop]
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    block = op.regions[0].blocks[0]
    n_in = len(inputs)
    # Positions, not op objects: building the new op invalidates Python's op handles.
    yield_op = _body_ops(block)[-1]
    live = _live_ops(block, [yield_op.operands[i] for i in keep])
    moved = [i for i, body_op in enumerate(_body_ops(block)[:-1]) if body_op in live]
    with ir.InsertionPoint(op), op.location:
        new = linalg.GenericOp([results[i].type for i in keep], inputs, [inits[i] for i in keep],
                               ir.ArrayAttr.get(maps[:n_in] + [maps[n_in + i] for i in keep]),
                               op.attributes["iterator_types"])
        for name in ("doc", "library_call"):
            if name in op.attributes:
                new.operation.attributes[name] = op.attributes[name]
        args = list(block.arguments)
        kept_args = args[:n_in] + [args[n_in + i] for i in keep]
        new_block = new.regions[0].blocks.append(*[a.type for a in kept_args],
                                                 arg_locs=[op.location] * len(kept_args))
    yield_op = _body_ops(block)[-1]
    for old, fresh in zip(kept_args, new_block.arguments):
        old.replace_all_uses_with(fresh)
    # Yield the kept values in the new block and move the live ops (in order) before it.
    with ir.InsertionPoint(new_block), op.location:
        new_yield = _op(linalg.YieldOp([yield_op.operands[i] for i in keep]))
    body = _body_ops(block)
    for i in moved:
        body[i].move_before(new_yield)
    for new_result, i in zip(new.results, keep):
        results[i].replace_all_uses_with(new_result)
    op.erase()
    return _op(new)


def drop_unused_results(root: ir.Operation) -> int:
    """Drop every droppable result of every generic under `root`; returns how many generics changed."""
    count = 0
    for op in walk_ops(root, "linalg.generic"):
        drop = droppable_results(op)
        if drop:
            drop_results(op, drop)
            count += 1
    return count


@register_pass("attn-drop-unused-results",
               summary="Drop unused results of linalg.generic ops (softmax's unused argmax) and their body.")
def drop_unused_results_pass(op):
    """generic(...) -> (a, r) with r unused == generic(...) -> a, when r's
    accumulator feeds no used result."""
    drop_unused_results(op)
