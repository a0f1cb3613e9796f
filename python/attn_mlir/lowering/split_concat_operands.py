"""Contractions over a concatenated operand, one product per part: no copy of the parts.

A decode step with a growing KV cache (HF's `DynamicCache`: `torch.cat`) attends to
`concat(cache, new)`: bufferized as written, each call copies the whole cache into
a fresh buffer (serially: a memcpy), and `K^T` then transposes the copy. Here the
B operand of a `linalg.matmul` / `linalg.batch_matmul` that is a `tensor.concat` (or
a `linalg.transpose` of one, either perhaps under the `tensor.collapse_shape` that
merges batch and head dims when torch-mlir flattens a 4-D matmul) is read part by
part, in place:

* concatenated along N (the keys of `q K^T`): `C = concat_N(A x B_1, A x B_2)`, each
  product reading its part through the transpose's map (a one-row A then gets the
  dot form: rows of the cache read along their length, nothing transposed);
* concatenated along K (the values of `P V`): `C = A[:, K_2] x B_2 + A[:, K_1] x B_1`,
  each product accumulating into the previous one's result.

Identity: the same products; the K split sums them in another order (a float
reassociation, as any K tiling). Legality: static shapes; A and C in the plain
layout; B's map a permutation of the plain loop dims; the concat along N or K (not
a batch dim); a transpose between them used by this contraction only. The concat
stays when something else uses it (the cache a step returns).
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import linalg, tensor

from ..ir_utils import walk_ops
from ..rewrite_log import fired
from ..linalg_match import (DEFAULT_MAPS, dims_of, erase_if_dead, make_map, operand_maps,
                            permutation, producer, same_op, static_shape, users)


def _concat_source(value: ir.Value):
    """(concat op, permutation from B's dims to the concat's dims or None, merged leading
    dims) for B = concat, transpose(concat), or either under a `tensor.collapse_shape`
    that merges the leading (batch and head) dims, as torch-mlir flattens a 4-D matmul:
    the third item is how many dims that merge removes (0: no collapse)."""
    op = producer(value)
    lead = 0
    if op is not None and op.name == "tensor.collapse_shape" and len(users(op.results[0])) == 1:
        groups = [[ir.IntegerAttr(i).value for i in ir.ArrayAttr(g)]
                  for g in ir.ArrayAttr(op.attributes["reassociation"])]
        rank = sum(len(g) for g in groups)
        if rank < 3 or groups != [list(range(rank - 2)), [rank - 2], [rank - 1]]:
            return None, None, 0
        lead = rank - 3
        op = producer(op.operands[0])
    if op is None:
        return None, None, 0
    if op.name == "tensor.concat":
        return op, None, lead
    if op.name == "linalg.transpose" and len(users(op.results[0])) == 1:
        source = producer(op.operands[0])
        perm = permutation(op)
        if lead and perm[:lead + 1] != list(range(lead + 1)):
            return None, None, 0  # the transpose moves a merged dim
        if source is not None and source.name == "tensor.concat":
            return source, perm, lead
    return None, None, 0


def _empty_like_init(init: ir.Value, shape: list[int], offsets: list[int]) -> ir.Value:
    """The accumulator of one part: a fill like `init`'s when it is one, else its slice."""
    element = ir.RankedTensorType(init.type).element_type
    fill = producer(init)
    if fill is not None and fill.name == "linalg.fill":
        return linalg.fill(fill.operands[0], outs=[tensor.empty(shape, element)])
    return tensor.extract_slice(ir.RankedTensorType.get(shape, element), init, [], [], [],
                                offsets, shape, [1] * len(shape))


def split(op: ir.Operation) -> bool:
    """Rewrite one contraction over a concat; False when not legal."""
    if op.name not in DEFAULT_MAPS or len(op.results) != 1:
        return False
    num_dims, defaults = DEFAULT_MAPS[op.name]
    dims = [dims_of(m) for m in operand_maps(op)]
    if any(d is None for d in dims) or dims[0] != defaults[0] or dims[2] != defaults[2]:
        return False
    if sorted(dims[1]) != sorted(defaults[1]):
        return False
    concat, perm, lead = _concat_source(op.operands[1])
    if concat is None:
        return False
    parts = list(concat.operands)
    shapes = [static_shape(p) for p in parts]
    a, c = static_shape(op.operands[0]), static_shape(op.results[0])
    if a is None or c is None or any(s is None for s in shapes) or len(parts) < 2:
        return False
    axis = ir.IntegerAttr(concat.attributes["dim"]).value
    if lead:
        # Each part gets the collapse the concat had: the same contraction, part by part.
        if axis <= lead:
            return False  # concatenated along a merged (batch or head) dim
        axis -= lead
        shapes = [[math.prod(s[:lead + 1])] + s[lead + 1:] for s in shapes]
        perm = None if perm is None else [0] + [d - lead for d in perm[lead + 1:]]
    # The concat's dim j is B's dim perm.index(j) (B = transpose(X): B dim i = X dim perm[i]).
    b_dims = dims[1]
    x_dims = b_dims if perm is None else [b_dims[perm.index(j)] for j in range(len(perm))]
    loop = x_dims[axis]
    n_dim, k_dim = defaults[2][-1], defaults[0][-1]
    if loop not in (n_dim, k_dim):
        return False
    a_element = ir.RankedTensorType(op.operands[0].type).element_type
    maps = operand_maps(op)  # (the builders take AffineMaps)
    maps[1] = make_map(num_dims, x_dims)
    plain = x_dims == defaults[1]
    build = linalg.matmul if op.name == "linalg.matmul" else linalg.batch_matmul
    init = op.operands[2]
    with ir.InsertionPoint(op), op.location:
        if lead:
            groups = [list(range(lead + 1)), [lead + 1], [lead + 2]]
            parts = [tensor.collapse_shape(
                ir.RankedTensorType.get(shape, ir.RankedTensorType(part.type).element_type),
                part, groups) for part, shape in zip(parts, shapes)]
        if loop == n_dim:
            results, offset = [], 0
            for part, shape in zip(parts, shapes):
                c_shape = c[:-1] + [shape[axis]]
                acc = _empty_like_init(init, c_shape, [0] * (len(c) - 1) + [offset])
                results.append(build(op.operands[0], part, outs=[acc],
                                     indexing_maps=None if plain else maps))
                offset += shape[axis]
            result = tensor.concat(op.results[0].type, len(c) - 1, results)
        else:
            result, offset = init, 0
            for part, shape in zip(parts, shapes):
                size = shape[axis]
                a_shape = a[:-1] + [size]
                a_part = tensor.extract_slice(
                    ir.RankedTensorType.get(a_shape, a_element), op.operands[0], [], [], [],
                    [0] * (len(a) - 1) + [offset], a_shape, [1] * len(a))
                result = build(a_part, part, outs=[result], indexing_maps=None if plain else maps)
                offset += size
    b_value = op.operands[1]
    fired("attn-cpu-schedule", op, f"{op.name}: B, a concat of {len(parts)}, read part by part "
                                   f"along {'N' if loop == n_dim else 'K'}")
    op.results[0].replace_all_uses_with(result)
    op.erase()
    chain = producer(b_value)  # collapse_shape?, transpose?, then the concat
    while chain is not None and not same_op(chain, concat):
        source, init_op = producer(chain.operands[0]), None
        if chain.name == "linalg.transpose":
            init_op = producer(chain.operands[1])
        erase_if_dead(chain)
        erase_if_dead(init_op)
        chain = source
    erase_if_dead(concat)
    return True


def split_concat_operands(root: ir.Operation, in_loop) -> int:
    """Split every top-level contraction under `root` whose B is a concat; returns how many."""
    ops = [op for name in DEFAULT_MAPS for op in walk_ops(root, name)
           if op.results and not in_loop(op)]
    return sum(split(op) for op in ops)
