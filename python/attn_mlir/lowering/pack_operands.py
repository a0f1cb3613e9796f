"""Packing for the cpu schedule: contractions get their operands in the plain layout.

`matmul(A, B^T)` written with `indexing_maps` (as `attn-fold-transposes`
leaves it) reads B along its rows for every output column: the register-tile
micro-kernel of the cpu schedule wants B's K dimension outermost. Before
scheduling, such an operand is packed into the plain layout by one
`linalg.transpose` (which the schedule vectorises as 16x16 register
transposes) and the contraction falls back to its default maps. Packing costs
one pass over the operand, O(K*N) against the contraction's O(M*N*K).

Legality: static shapes; every map a permutation of plain loop dims; the
result map unchanged.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg, tensor

from ..ir_utils import walk_ops
from ..linalg_match import DEFAULT_MAPS, dims_of, operand_maps, static_shape


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


def pack_transposed_operands(root: ir.Operation) -> int:
    """Pack the transposed operands of matmul/batch_matmul ops under `root`; returns how many ops."""
    count = 0
    for name in DEFAULT_MAPS:
        for op in walk_ops(root, name):
            if "indexing_maps" not in op.attributes or not op.results:
                continue
            perms = _permutations(op)
            if perms is None:
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
