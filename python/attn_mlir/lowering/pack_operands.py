"""Packing for the cpu schedule: contractions get their operands in the plain layout.

`matmul(A, B^T)` written with `indexing_maps` (as `attn-fold-transposes`
leaves it) reads B along its rows for every output column: the register-tile
micro-kernel of the cpu schedule wants B's K dimension outermost. Before
scheduling, such an operand is packed into the plain layout by one
`linalg.transpose` (which the schedule vectorises as 16x16 register
transposes) and the contraction falls back to its default maps. Packing costs
one pass over the operand, O(K*N) against the contraction's O(M*N*K).

Constant operands (weights) are packed at compile time instead: an operand
computed from an `arith.constant` by layout ops alone (`linalg.transpose`,
a permuting `linalg.generic`, `tensor.expand_shape`/`collapse_shape`), as
`x @ W^T` from torch-mlir is, becomes one new constant already in the layout
the kernel reads, so a call does no packing and no transpose for it. The weights
of a one-row product (a decode step) go the other way, into the (N, K) layout of
the dot form, which streams each row of W in order (Llama decode step, 205 MB of
weights, 2 threads: 9.3 ms against 12.9 ms reading rows of the (K, N) layout).

Legality: static shapes; every map a permutation of plain loop dims; the
result map unchanged. Constant packing only evaluates ops that move
elements (never arithmetic), so the packed constant holds the same values.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import linalg, tensor

from ..constants import constant_array, constant_producer, create_weight
from ..ir_utils import walk_ops
from ..linalg_match import (DEFAULT_MAPS, dims_of, erase_if_dead, operand_maps, permutation,
                            producer, set_operand_map, static_shape)


def _permutations(op: ir.Operation) -> list[tuple[int, list[int]]] | None:
    """(operand index, permutation) for each operand to pack; None if not packable."""
    _, defaults = DEFAULT_MAPS[op.name]
    dims = [dims_of(m) for m in operand_maps(op)]
    if any(d is None for d in dims) or dims[2] != defaults[2]:
        return None
    out = []
    for i in (0, 1):
        if dims[i] == defaults[i]:
            continue
        if sorted(dims[i]) != sorted(defaults[i]) or static_shape(op.operands[i]) is None:
            return None
        # The packed operand's dim j is loop dim defaults[i][j].
        out.append((i, [dims[i].index(d) for d in defaults[i]]))
    return out


def _generic_permutation(op: ir.Operation) -> list[int] | None:
    """The permutation of a `linalg.generic` that only yields its one input
    (output map the identity, input map a permutation), else None."""
    if len(op.operands) != 2 or len(op.results) != 1:
        return None
    block = op.regions[0].blocks[0]
    body = [o for o in block.operations]
    if len(body) != 1 or body[0].operation.name != "linalg.yield":
        return None
    if body[0].operands[0] != block.arguments[0]:
        return None
    maps = operand_maps(op)
    ins, outs = dims_of(maps[0]), dims_of(maps[1])
    if ins is None or outs != list(range(len(outs))) or sorted(ins) != outs:
        return None
    # out[d...] = in[ins...]: out = in.transpose(argsort(ins))
    return [ins.index(d) for d in outs]


def constant_layout(value: ir.Value) -> np.ndarray | None:
    """The value as a numpy array if layout ops alone compute it from a constant."""
    op = producer(value)
    if op is None:
        return None
    if constant_producer(value) is not None:
        return constant_array(value)
    if op.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        shape = static_shape(value)
        source = constant_layout(op.operands[0])
        return None if source is None or shape is None else source.reshape(shape)
    if op.name == "linalg.transpose":
        source = constant_layout(op.operands[0])
        return None if source is None else source.transpose(permutation(op))
    if op.name == "linalg.generic":
        perm = _generic_permutation(op)
        source = None if perm is None else constant_layout(op.operands[0])
        return None if source is None else source.transpose(perm)
    return None


def erase_chain(value: ir.Value) -> None:
    """Erase the now unused layout ops (and constant) that computed `value`."""
    op = producer(value)
    while op is not None and constant_producer(op.results[0]) is None:
        sources = [producer(v) for v in op.operands]
        if not erase_if_dead(op):
            return
        for s in sources[1:]:
            erase_if_dead(s)  # the init (tensor.empty) of a destination-style op
        op = sources[0]
    erase_if_dead(op)


def pack_constant_operands(root: ir.Operation, keep=lambda op: False) -> int:
    """Turn the constant operands of matmul/batch_matmul ops under `root` that
    layout ops compute, or that are read through permuted maps, into constants
    in the plain layout (except in ops `keep` names); returns how many operands
    were packed."""
    count = 0
    for name in DEFAULT_MAPS:
        for op in walk_ops(root, name):
            if not op.results or keep(op):
                continue
            perms = _permutations(op)
            if perms is None:
                continue
            perm_of = dict(perms)
            for index in (0, 1):
                source = op.operands[index]
                owner = producer(source)
                if owner is None or (constant_producer(source) is not None and index not in perm_of):
                    continue  # an argument, or a constant already in the plain layout
                array = constant_layout(source)
                if array is None:
                    continue
                if index in perm_of:
                    array = array.transpose(perm_of[index])
                with ir.InsertionPoint(op), op.location:
                    element = ir.RankedTensorType(source.type).element_type
                    t = ir.RankedTensorType.get(list(array.shape), element)
                    op.operands[index] = create_weight(np.ascontiguousarray(array), t)
                if index in perm_of:
                    set_operand_map(op, index, DEFAULT_MAPS[name][1][index])
                erase_chain(source)
                count += 1
            if "indexing_maps" in op.attributes and _permutations(op) == []:
                del op.attributes["indexing_maps"]
    return count


def pack_transposed_operands(root: ir.Operation, keep_transposed=lambda op: False) -> int:
    """Pack the transposed operands of matmul/batch_matmul ops under `root` (except
    those `keep_transposed` names); returns how many ops."""
    count = 0
    for name in DEFAULT_MAPS:
        for op in walk_ops(root, name):
            if "indexing_maps" not in op.attributes or not op.results:
                continue
            perms = _permutations(op)
            if perms is None or keep_transposed(op):
                continue
            with ir.InsertionPoint(op), op.location:
                for index, perm in perms:
                    source = op.operands[index]
                    shape = static_shape(source)
                    element = ir.RankedTensorType(source.type).element_type
                    init = tensor.empty([shape[p] for p in perm], element)
                    packed = linalg.transpose(source, outs=[init], permutation=perm)
                    op.operands[index] = packed.results[0]
            del op.attributes["indexing_maps"]
            count += 1
    return count


def pack_row_operands(root: ir.Operation, rows_ok) -> int:
    """One-row `linalg.matmul`s (decode steps) whose B is a constant weight, in any
    layout the layout ops give, with `rows_ok(k, n)`: B becomes one constant in the
    (N, K) layout, read through the transposed map, packed once (torch's `x @ W^T`
    reads W as it is). Each output is then a dot product of A's row with one
    contiguous row of W, and the weights stream from memory in order. Runs before
    `pack_constant_operands`, which leaves these products alone. Returns how many
    products read their weights in that layout."""
    count = 0
    for op in walk_ops(root, "linalg.matmul"):
        if not op.results or len(op.operands) != 3:
            continue
        dims = [dims_of(m) for m in operand_maps(op)]
        if dims[0] != [0, 2] or dims[2] != [0, 1] or dims[1] not in ([2, 1], [1, 2]):
            continue
        transposed = dims[1] == [1, 2]  # B read as (n, k)
        a, b = static_shape(op.operands[0]), static_shape(op.operands[1])
        element = ir.RankedTensorType(op.operands[1].type).element_type
        a_element = ir.RankedTensorType(op.operands[0].type).element_type
        if a is None or b is None or a[0] != 1 or not isinstance(element, ir.F32Type) \
                or not isinstance(a_element, ir.F32Type):
            continue
        k, n = (b[1], b[0]) if transposed else b
        source = op.operands[1]
        if not rows_ok(k, n):
            continue
        if transposed and constant_producer(source) is not None:
            count += 1  # already a constant in the (N, K) layout
            continue
        array = constant_layout(source)
        if array is None:
            continue
        with ir.InsertionPoint(op), op.location:
            t = ir.RankedTensorType.get([n, k], element)
            op.operands[1] = create_weight(np.ascontiguousarray(array if transposed else array.T), t)
        set_operand_map(op, 1, [1, 2])
        erase_chain(source)
        count += 1
    return count
