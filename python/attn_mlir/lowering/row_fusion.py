"""Row fusion for the cpu schedule: softmax-like chains computed row block by row block.

A chain of elementwise and last-dim-reduction generics over the same rows
(scale, max, sub-exp, sum, div: the decomposed softmax) otherwise runs as one
pass over the whole score tensor per op, each reading and writing it through
memory. Here the last op of the chain is tiled into an `scf.forall` over
blocks of rows, and every producer in the chain is fused into that loop
(`fuse_into_containing_op`), so a block of rows stays in cache from the
first op to the last; each op is then vectorised along the row.

A producer joins the chain only if it is a top-level `linalg.generic` (one
result) or `linalg.fill` over the same outer (row) dims, whose iterators are
parallel except possibly the last, and all of whose users are in the chain:
fusing it then recomputes nothing and leaves no full-size copy behind. A fill
is the exception: one fill shared by several reductions (CSE merges identical
ones: two RMSNorms' sums) is repeated in the loop, which costs what it saves.
Tiling and fusion along parallel dims preserve every value computed.
"""

from __future__ import annotations

from mlir import ir

from ..ir_utils import walk_ops
from ..transform_script import ANY, tile_and_vectorize
from . import cpu_tiles
from .group_tags import GroupTags

TAGS = GroupTags("__attn_row_group", "__attn_row_refused")  # refused: a sink whose script failed once
L2_BUDGET = 512 * 1024   # bytes of one row block's tensors kept in cache


def _op(x) -> ir.Operation:
    """The ir.Operation behind an op view (they do not compare equal)."""
    return x.operation if isinstance(x, ir.OpView) else x


def _users(op: ir.Operation) -> list[ir.Operation]:
    return [_op(use.owner) for result in op.results for use in result.uses]


def _owner_op(value: ir.Value):
    owner = value.owner
    if isinstance(owner, (ir.Operation, ir.OpView)):
        return _op(owner)
    return None  # a block argument


class _Info:
    """What the cpu schedule knows about a generic: its loop ranges and iterators."""

    def __init__(self, loop_ranges, iterators, in_loop, static_shape):
        self.loop_ranges, self.iterators = loop_ranges, iterators
        self.in_loop, self.static_shape = in_loop, static_shape


def _row_dims(op: ir.Operation, info: _Info):
    """(outer ranges, last range) of a row-wise op, or None."""
    if info.in_loop(op) or len(op.results) != 1:
        return None
    if op.name == "linalg.fill":
        shape = info.static_shape(op.results[0])
        return (tuple(shape), None) if shape and 0 not in shape else None
    if op.name != "linalg.generic":
        return None
    ranges = info.loop_ranges(op)
    if not ranges or len(ranges) < 2 or 0 in ranges:
        return None  # zero-size rows: nothing to fuse
    iterators = info.iterators(op)
    if any(it != "parallel" for it in iterators[:-1]):
        return None
    return tuple(ranges[:-1]), ranges[-1]


def _member_dims(op: ir.Operation, info: _Info, outer: tuple):
    """(outer, last range) of a chain member over the rows `outer`, with last
    None for ops of one value per row (a fill, or an all-parallel generic over
    exactly the rows, as keep-dim reductions' consumers are once their unit dim
    is dropped); None if `op` does not run over these rows."""
    if info.in_loop(op) or len(op.results) != 1:
        return None
    if op.name == "linalg.fill":
        shape = info.static_shape(op.results[0])
        if not shape or tuple(shape[:len(outer)]) != outer or any(d != 1 for d in shape[len(outer):]):
            return None
        return tuple(shape), None
    if op.name != "linalg.generic":
        return None
    ranges = info.loop_ranges(op)
    if ranges and tuple(ranges) == outer and all(it == "parallel" for it in info.iterators(op)):
        return outer, None
    dims = _row_dims(op, info)
    return dims if dims is not None and dims[0] == outer else None


def find_groups(root: ir.Operation, info: _Info) -> list[list[ir.Operation]]:
    """Chains ending in an all-parallel generic that has a reduction among its producers."""
    groups, taken = [], set()
    generics = [op for op in walk_ops(root, "linalg.generic")]
    for sink in reversed(generics):
        if _key(sink) in taken:
            continue
        dims = _row_dims(sink, info)
        if dims is None or info.iterators(sink)[-1] != "parallel" or TAGS.refused in sink.attributes:
            continue
        outer = dims[0]
        members = {_key(sink): sink}
        frontier = [sink]
        while frontier:
            op = frontier.pop()
            for operand in op.operands:
                producer = _owner_op(operand)
                if producer is None or _key(producer) in members:
                    continue
                if _member_dims(producer, info, outer) is None:
                    continue
                members[_key(producer)] = producer
                frontier.append(producer)
        # Keep only members whose users are all in the group (fixpoint).
        changed = True
        while changed:
            changed = False
            for key, op in list(members.items()):
                if op is sink or op.name == "linalg.fill":
                    continue  # (a fill used outside too is repeated in the loop)
                if any(_key(u) not in members for u in _users(op)):
                    del members[key]
                    changed = True
        has_reduction = any(op.name == "linalg.generic" and info.iterators(op)[-1] == "reduction"
                            for op in members.values())
        if len(members) < 3 or not has_reduction or _lanes(dims[1]) is None:
            continue
        ordered = [op for op in walk_ops(root) if _key(op) in members]
        for op in ordered:
            taken.add(_key(op))
        groups.append(ordered)
    return groups


def _lanes(row: int) -> int | None:
    """Vector lanes along a row: a multiple of 16 dividing it (no masked vectors,
    which the later transfer lowering cannot unroll inside a fused row block)."""
    for lanes in (cpu_tiles.VECTOR_TILE, 48, 32, 16):
        if row % lanes == 0:
            return lanes
    return None


def _key(op) -> ir.Operation:
    return _op(op)  # ir.Operation objects compare and hash by the underlying op


def _row_block(outer: tuple, last: int, threads: int) -> list[int]:
    """forall tile sizes over the outer dims: 1 on all but the innermost outer
    dim, which gets a block of rows that divides it and fits the cache budget."""
    rows = outer[-1]
    limit = max(1, L2_BUDGET // max(1, 12 * last))
    others = 1
    for d in outer[:-1]:
        others *= d
    # Enough blocks for every thread.
    want = max(1, -(-2 * threads // others))
    limit = max(1, min(limit, rows // want if rows >= want else 1))
    block = max(d for d in range(1, min(rows, limit) + 1) if rows % d == 0)
    return [1] * (len(outer) - 1) + [block]


def group_script(group: list[ir.Operation], info: _Info, threads: int) -> str:
    sink = group[-1]
    outer, last = _row_dims(sink, info)
    block = _row_block(outer, last, threads)
    lines = [f'    %fn = transform.structured.match ops{{["func.func"]}} in %root : ({ANY}) -> {ANY}',
             TAGS.match(len(group) - 1, "%sink"),
             f"    %t, %forall = transform.structured.tile_using_forall %sink tile_sizes "
             f"[{', '.join(map(str, block + [0]))}] : ({ANY}) -> ({ANY}, {ANY})"]
    for i in range(len(group) - 2, -1, -1):
        lines += [TAGS.match(i, f"%p{i}"),
                  f"    %f{i}, %fl{i} = transform.structured.fuse_into_containing_op %p{i} into %forall"
                  f" : ({ANY}, {ANY}) -> ({ANY}, {ANY})",
                  f"    transform.apply_cse to %fn : {ANY}"]
    for i, op in enumerate(group):
        dims = _member_dims(op, info, outer)
        bound = list(block) + ([dims[1]] if dims[1] is not None else [1] * (len(dims[0]) - len(block)))
        if dims[1] is None:   # a fill of per-row values: one vector per block
            vector = list(bound)
        else:
            vector = [1] * (len(bound) - 1) + [min(bound[-1], _lanes(last))]
        sizes = [0 if v >= b else v for v, b in zip(vector, bound)]
        lines.append(TAGS.match(i, f"%in{i}", "%forall"))
        lines += tile_and_vectorize(f"%in{i}", sizes, vector, f"%v{i}")
    return "\n".join(lines)
