"""B panels for the cpu schedule: `C = A B` reads B as contiguous K x NR panels.

The register-tile micro-kernel reads one NR-wide row of B per k. In the
plain layout those rows are N floats apart: for N a multiple of 1024 they
all fall into the same L1 set and evict each other, so every B row (and A's
rows, equally strided) comes from L2. As BLIS, MLAS and oneDNN do, B is
packed once into panels, `Bp[j, k, r] = B[k, j*NR + r]`, so a micro-kernel
walks its panel sequentially, and the contraction reads
`C3[m, j, r] = sum_k A[m, k] * Bp[j, k, r]` with `C3` the row-major view of
C as [M, N/NR, NR] (`tensor.expand_shape`, free). A constant B is packed at
compile time (lowering/pack_operands.py evaluates the pack); an argument is
packed per call by one `linalg.transpose`, O(K*N) against O(M*N*K).

Identity: the same products summed over k in the same order, each C element
computed once. Legality: a top-level `linalg.matmul` with default maps and
static shapes, N a multiple of NR and wider than one panel, M at least `MIN_ROWS` (B is reused by
enough rows to pay for its packing), and, for a B packed per call, rows wider
than `NARROW_BYTES`: a narrow B (one head's 512 x 64 projection weight) is
read row after row at a short stride that the prefetcher follows, so its
per-call pack is pure cost (head512, 2 threads, same process: 1.13 ms
unpacked against 1.26 ms packed; head_llama's 128-wide B still gains).
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import linalg, tensor

from ..constants import create_weight
from ..ir_utils import walk_ops
from ..linalg_match import DEFAULT_MAPS, dims_of, operand_maps, producer, static_shape
from .pack_operands import constant_layout, erase_chain

PANEL = "__attn_panel_matmul"   # marks the packed contraction for the schedule
MIN_ROWS = 64
NARROW_BYTES = 256   # a B row of at most four cache lines is not packed per call


def _contraction_body(block: ir.Block, element: ir.Type) -> None:
    from mlir.dialects import arith

    with ir.InsertionPoint(block):
        product = arith.mulf(block.arguments[0], block.arguments[1])
        linalg.YieldOp([arith.addf(block.arguments[2], product)])


def _map(dims: list[int]) -> ir.AffineMapAttr:
    return ir.AffineMapAttr.get(ir.AffineMap.get(4, 0, [ir.AffineDimExpr.get(d) for d in dims]))


def to_panels(op: ir.Operation, nr: int) -> bool:
    """Rewrite one `linalg.matmul` into the panel form; False if not legal."""
    a, b, c = (static_shape(v) for v in list(op.operands)[:3])
    if a is None or b is None or c is None:
        return False
    if [dims_of(amap) for amap in operand_maps(op)] != DEFAULT_MAPS["linalg.matmul"][1]:
        return False
    m, k = a
    n = b[1]
    if n % nr or n == nr or m < MIN_ROWS or len(op.results) != 1:
        return False  # (one panel is B itself: its unit panel dim would only be folded away)
    element = ir.RankedTensorType(op.operands[0].type).element_type
    if not isinstance(element, ir.F32Type):
        return False
    b_value = op.operands[1]
    weights = constant_layout(b_value)
    if weights is None and n * 4 <= NARROW_BYTES:
        return False
    with ir.InsertionPoint(op), op.location:
        if weights is not None:
            # Constant weights: packed here, once, into a new constant.
            panels = np.ascontiguousarray(weights.reshape(k, n // nr, nr).transpose(1, 0, 2))
            packed = create_weight(panels, ir.RankedTensorType.get([n // nr, k, nr], element))
        else:
            grouped = tensor.expand_shape(ir.RankedTensorType.get([k, n // nr, nr], element),
                                          b_value, [[0], [1, 2]], [], [k, n // nr, nr])
            packed = linalg.transpose(grouped, outs=[tensor.empty([n // nr, k, nr], element)],
                                      permutation=[1, 0, 2])
        init = op.operands[2]
        fill = producer(init)
        c3_type = ir.RankedTensorType.get([m, n // nr, nr], element)
        if fill is not None and fill.name == "linalg.fill":
            # A fill of the 3-D view, so the schedule can fuse it into the tiles.
            c3 = linalg.fill(fill.operands[0], outs=[tensor.empty([m, n // nr, nr], element)])
        else:
            c3 = tensor.expand_shape(c3_type, init, [[0], [1, 2]], [], [m, n // nr, nr])
        generic = linalg.GenericOp(
            [c3_type], [op.operands[0], packed], [c3],
            ir.ArrayAttr.get([_map([0, 3]), _map([1, 3, 2]), _map([0, 1, 2])]),
            ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{t}>")
                              for t in ("parallel", "parallel", "parallel", "reduction")]))
        block = generic.regions[0].blocks.append(element, element, element)
        _contraction_body(block, element)
        generic.attributes[PANEL] = ir.UnitAttr.get()
        result = tensor.collapse_shape(ir.RankedTensorType(op.results[0].type), generic.result,
                                       [[0], [1, 2]])
    op.results[0].replace_all_uses_with(result)
    op.erase()
    if weights is not None:
        erase_chain(b_value)
    if fill is not None and fill.name == "linalg.fill" and not list(fill.results[0].uses):
        fill.erase()
    return True


def pack_panels(root: ir.Operation, nr: int, in_loop) -> int:
    """Put every legal top-level `linalg.matmul` under `root` in panel form; returns how many."""
    return sum(to_panels(op, nr) for op in walk_ops(root, "linalg.matmul") if not in_loop(op))
