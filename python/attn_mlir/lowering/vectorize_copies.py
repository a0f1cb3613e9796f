"""`attn-vectorize-strided-copies`: strided `memref.copy`s as vector loads and stores.

Bufferization turns tensor slice copies (a head split, a concat, a tiled
transpose that keeps its innermost dim) into `memref.copy` between strided
views. The LLVM lowering calls the `memrefCopy` runtime for those, which
copies one element at a time through an index computation. Each such copy
with a static shape becomes a `linalg.copy` vectorised along its innermost
dim (tiles of 1 on the outer dims), which computes the same element-wise
assignment. Copies between contiguous buffers stay `memref.copy` (a memcpy).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg

from ..ir_utils import walk_ops
from ..passes import register_pass
from ..transform_script import ANY, apply_transform, named_sequence, tile_and_vectorize
from . import cpu_tiles

TAG = "__attn_strided_copy"


def _static_memref(t: ir.Type):
    try:
        m = ir.MemRefType(t)
    except ValueError:
        return None
    return m if m.has_static_shape and m.rank > 0 else None


def _contiguous(m: ir.MemRefType) -> bool:
    return str(m.layout) == "affine_map<(" + ", ".join(
        f"d{i}" for i in range(m.rank)) + ") -> (" + ", ".join(f"d{i}" for i in range(m.rank)) + ")>"


def vectorize_strided_copies(root: ir.Operation) -> int:
    """Rewrite static strided memref.copy ops; returns how many."""
    copies = []
    for op in walk_ops(root, "memref.copy"):
        src, dst = (_static_memref(v.type) for v in op.operands)
        if src is None or dst is None or (_contiguous(src) and _contiguous(dst)):
            continue
        copies.append((op, list(src.shape)))
    if not copies:
        return 0
    by_shape: dict[tuple, list] = {}
    for op, shape in copies:
        with ir.InsertionPoint(op), op.location:
            new = linalg.copy(op.operands[0], outs=[op.operands[1]])
        copy_op = new.owner if hasattr(new, "owner") else new
        if not isinstance(copy_op, ir.Operation):
            copy_op = copy_op.operation
        op.erase()
        by_shape.setdefault(tuple(shape), []).append(copy_op)
    for i, (shape, ops) in enumerate(by_shape.items()):
        for op in ops:
            op.attributes[f"{TAG}{i}"] = ir.UnitAttr.get()
    body = []
    for i, shape in enumerate(by_shape):
        tile = [1] * (len(shape) - 1) + [min(shape[-1], cpu_tiles.VECTOR_TILE)]
        sizes = [0 if t >= s else t for t, s in zip(tile, shape)]
        body.append(f"    %c{i} = transform.structured.match attributes{{{TAG}{i}}} in %root"
                    f" : ({ANY}) -> {ANY}")
        body += tile_and_vectorize(f"%c{i}", sizes, tile, f"%t{i}")
    try:
        apply_transform(root, named_sequence("\n".join(body)))
    except (ir.MLIRError, ValueError):
        pass  # linalg.copy ops left over become scalar loops: still correct
    for op in walk_ops(root):
        for i in range(len(by_shape)):
            if f"{TAG}{i}" in op.attributes:
                del op.attributes[f"{TAG}{i}"]
    return len(copies)


@register_pass("attn-vectorize-strided-copies",
               summary="Rewrite static strided memref.copy ops as vectorised linalg.copy loops.")
def vectorize_strided_copies_pass(op):
    """memref.copy(a, b) == linalg.copy(a, b) element by element; static shapes only."""
    vectorize_strided_copies(op)
