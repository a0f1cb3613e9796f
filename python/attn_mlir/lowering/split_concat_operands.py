"""Contractions over a concatenated operand, one product per part: no copy of the parts.

A decode step with a growing KV cache (HF's `DynamicCache`: `torch.cat`) attends to
`concat(cache, new)`: bufferized as written, each call copies the whole cache into
a fresh buffer (serially: a memcpy), and `K^T` then transposes the copy. Here the
B operand of a `linalg.matmul` / `linalg.batch_matmul` that is a `tensor.concat` (or
a `linalg.transpose` of one) is read part by part, in place:

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

from mlir import ir
from mlir.dialects import linalg, tensor

from ..ir_utils import walk_ops
from ..rewrite_log import fired
from ..linalg_match import (DEFAULT_MAPS, dims_of, erase_if_dead, make_map, operand_maps,
                            permutation, producer, static_shape, users)


def _concat_source(value: ir.Value):
    """(concat op, its dims as loop dims of the contraction's B map order) for B =
    concat or transpose(concat); the second item is the permutation from B's dims
    to the concat's dims (None for no transpose)."""
    op = producer(value)
    if op is None:
        return None, None
    if op.name == "tensor.concat":
        return op, None
    if op.name == "linalg.transpose" and len(users(op.results[0])) == 1:
        source = producer(op.operands[0])
        if source is not None and source.name == "tensor.concat":
            return source, permutation(op)
    return None, None


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
    concat, perm = _concat_source(op.operands[1])
    if concat is None:
        return False
    parts = list(concat.operands)
    shapes = [static_shape(p) for p in parts]
    a, c = static_shape(op.operands[0]), static_shape(op.results[0])
    if a is None or c is None or any(s is None for s in shapes) or len(parts) < 2:
        return False
    axis = ir.IntegerAttr(concat.attributes["dim"]).value
    # The concat's dim j is B's dim perm.index(j) (B = transpose(X): B dim i = X dim perm[i]).
    b_dims = dims[1]
    x_dims = b_dims if perm is None else [b_dims[perm.index(j)] for j in range(len(perm))]
    loop = x_dims[axis]
    n_dim, k_dim = defaults[2][-1], defaults[0][-1]
    if loop not in (n_dim, k_dim):
        return False
    element = ir.RankedTensorType(op.results[0].type).element_type
    maps = operand_maps(op)  # (the builders take AffineMaps)
    maps[1] = make_map(num_dims, x_dims)
    plain = x_dims == defaults[1]
    build = linalg.matmul if op.name == "linalg.matmul" else linalg.batch_matmul
    init = op.operands[2]
    with ir.InsertionPoint(op), op.location:
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
                    ir.RankedTensorType.get(a_shape, element), op.operands[0], [], [], [],
                    [0] * (len(a) - 1) + [offset], a_shape, [1] * len(a))
                result = build(a_part, part, outs=[result], indexing_maps=None if plain else maps)
                offset += size
    b_value = op.operands[1]
    fired("attn-cpu-schedule", op, f"{op.name}: B, a concat of {len(parts)}, read part by part "
                                   f"along {'N' if loop == n_dim else 'K'}")
    op.results[0].replace_all_uses_with(result)
    op.erase()
    transpose = producer(b_value)
    if transpose is not None and transpose.name == "linalg.transpose":
        init_op = producer(transpose.operands[1])
        erase_if_dead(transpose)
        erase_if_dead(init_op)
    erase_if_dead(concat)
    return True


def split_concat_operands(root: ir.Operation, in_loop) -> int:
    """Split every top-level contraction under `root` whose B is a concat; returns how many."""
    ops = [op for name in DEFAULT_MAPS for op in walk_ops(root, name)
           if op.results and not in_loop(op)]
    return sum(split(op) for op in ops)
