"""`attn-cpu-schedule`: tile, vectorise and parallelise linalg-on-tensors for the CPU.

Each linalg op with static shapes gets its own transform-dialect script,
built from its shape (tile sizes: lowering/cpu_tiles.py):

* contractions (`linalg.matmul`, `linalg.batch_matmul`): rows and columns
  that do not fill a register tile are split off (`structured.split`, static
  parts, so no micro-kernel is masked); each part gets an `scf.forall` over
  thread tiles of C with its zero fill fused in, a K-block loop when K is
  large, and a register tile vectorised into one `vector.contract`; an
  operand read through a transposed map is first packed into the plain
  layout by one transpose, or at compile time when it is a constant weight
  (lowering/pack_operands.py), except a one-row `x @ W^T` with W an argument,
  which is computed as dot products along K (`dot_form`, also for one query per
  head against cached keys, and for constant weights of one-row products, which
  are packed into that (N, K) layout); a B that is a concat (a KV cache and the
  new key) is read part by part in place (lowering/split_concat_operands.py);
  a top-level matmul then reads B as
  contiguous K x NR panels (lowering/panel_matmul.py: packed per call, or at
  compile time for constant weights), its register tiles walking down A's
  rows under one panel;
* elementwise chains that consume matmuls (bias, residual add, SwiGLU) run in
  the matmuls' thread tiles: the chain's last op is tiled into the
  `scf.forall` the matmuls would get, the chain and the matmuls are fused into
  it (lowering/epilogue_fusion.py);
* softmax-like chains (elementwise and last-dim reductions over the same
  rows) are fused into one `scf.forall` over row blocks
  (lowering/row_fusion.py);
* other elementwise and reduction `linalg.generic`s (and named ops
  generalised to them): an `scf.forall` over one outer parallel dim, tiles of
  1 on the other outer dims and up to 64 lanes on the innermost one (16x16
  blocks for transposes), vectorised with masks where the lanes do not divide;
* `tensor.concat` becomes `linalg.copy`s into slices, vectorised like the rest.

Then one function-wide script cleans up, hoists the accumulator's
read/write out of the K loop (`hoist_loop_invariant_subsets`, so the
accumulators live in registers), and lowers `vector.contract` to
broadcast-FMA outer products and reductions to vector reductions. Finally
`math.erf` and `math.tanh` become rational/exp forms
(lowering/approximate_erf_tanh.py), and `math.exp` and `math.exp2` polynomials
(lowering/approximate_exp.py), since LLVM would otherwise call the scalar
libm function once per lane (and has no `erf` at all).

Only ops big enough to pay for a parallel region get threads; ops nested
inside loops are tiled and vectorised but not parallelised (no nested
parallel regions); ops with dynamic shapes, or that a transform refuses,
are left as they are for the loop lowering that follows. The schedule never
changes what is computed: tiling, splitting, fusion along parallel dims and
vectorisation preserve every value (reductions are reassociated), and a
script that fails, or leaves IR that does not verify, is undone by restoring
the function as it was before the script.
"""

from __future__ import annotations

from mlir import ir

from ..diagnostics import AttnError, location_parts
from ..ir_utils import functions, symbol_name, walk_ops
from ..passes import Option, register_pass
from ..rewrite_log import fired, skipped
from ..toolchain import cpu_count
from ..transform_script import (ANY, apply_transform, ints, named_sequence, tile_and_vectorize,
                                tile_using_for)
from . import cpu_tiles, epilogue_fusion, row_fusion
from .unit_dims import drop_unit_dims
from .unused_results import drop_unused_results
from .approximate_erf_tanh import approximate_erf_tanh
from .approximate_exp import approximate_exp
from .pack_operands import pack_constant_operands, pack_row_operands, pack_transposed_operands
from .panel_matmul import PANEL, pack_panels
from .split_concat_operands import split_concat_operands

TAG = "__attn_cpu_schedule"

CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul")
# Named structured ops that are plain generics in disguise.
GENERALIZABLE = ("linalg.transpose", "linalg.copy", "linalg.broadcast", "linalg.map",
                 "linalg.reduce", "linalg.elementwise", "linalg.add", "linalg.sub",
                 "linalg.mul", "linalg.div", "linalg.exp", "linalg.max", "linalg.negf")
LOOPS = ("scf.for", "scf.forall", "scf.parallel", "scf.while", "affine.for")


def _static_shape(value: ir.Value) -> list[int] | None:
    try:
        t = ir.ShapedType(value.type)
    except ValueError:
        return [] if not isinstance(value.type, ir.ShapedType) else None
    if not t.has_static_shape:
        return None
    return list(t.shape)


def _in_loop(op: ir.Operation) -> bool:
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name in LOOPS:
            return True
        parent = parent.parent
    return False


def _loop_ranges(op: ir.Operation) -> list[int] | None:
    """Static loop ranges of a linalg.generic, read off its indexing maps."""
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    ranges: list[int | None] = [None] * maps[0].n_dims
    for operand, amap in zip(list(op.operands), maps):
        shape = _static_shape(operand)
        if shape is None:
            return None
        for expr, size in zip(amap.results, shape):
            try:
                ranges[ir.AffineDimExpr(expr).position] = size
            except ValueError:
                continue
    if any(r is None for r in ranges):
        return None
    return ranges


def _transposing(op: ir.Operation) -> bool:
    """Whether some operand is walked across its rows by the innermost loop:
    its last index is another loop dim and the innermost loop dim indexes one of
    its outer dims (a transpose; its vectors would be gathered lane by lane)."""
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    for amap in maps:
        positions = _positions(list(amap.results))
        innermost = amap.n_dims - 1
        if positions and positions[-1] != innermost and innermost in positions[:-1]:
            return True
    return False


def _positions(exprs) -> list[int]:
    out = []
    for e in exprs:
        try:
            out.append(ir.AffineDimExpr(e).position)
        except ValueError:
            pass
    return out


def _iterators(op: ir.Operation) -> list[str]:
    return ["reduction" if "reduction" in str(a) else "parallel"
            for a in ir.ArrayAttr(op.attributes["iterator_types"])]


def contraction_script(op: ir.Operation, threads: int, parallel: bool) -> str | None:
    """Split off the rows/columns that do not fill a register tile (static
    `structured.split`), then give each static part thread tiles (an
    scf.forall, loops when single-threaded) with its zero fill fused in when it
    has one, an optional K block, and the vectorised register tile."""
    a, b = (_static_shape(v) for v in list(op.operands)[:2])
    c = _static_shape(op.results[0])
    if a is not None and b is not None and c is not None and dot_form(op):
        return dot_script(op, a, b, threads, parallel)
    if a is None or b is None or c is None or not _default_maps(op):
        return None
    if 0 in a + b + c:
        return None  # nothing to compute: the loop lowering gives zero-trip loops
    batched = op.name == "linalg.batch_matmul"
    fill = _fill_producer(op) is not None
    # Top-level ops always get an scf.forall (with one thread it becomes loops);
    # inside other loops plain scf.for tiles avoid nested parallel regions.
    flops = 2 * max(c[0], 1) * c[-2] * c[-1] * a[-1] if batched else 2 * c[-2] * c[-1] * a[-1]
    small = threads > 1 and flops < cpu_tiles.MIN_PARALLEL_FLOPS
    # Threads only for contractions big enough to pay for a parallel region.
    plan = _ContractionPlan(batched, a[-1], threads if parallel and not small else 1,
                            not _in_loop(op) and not small)
    return "\n".join(plan.lines("%op", c[0] if batched else 0, c[-2], c[-1], fill))


DOT_ROWS = 8      # rows of B (columns of C) per register tile of the dot form
DOT_K = 64        # K elements per step: 4 registers of each B row


DOT_MAPS = {
    "linalg.matmul": ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d1, d2)",
                      "(d0, d1, d2) -> (d0, d1)"],
    "linalg.batch_matmul": ["(d0, d1, d2, d3) -> (d0, d1, d3)", "(d0, d1, d2, d3) -> (d0, d2, d3)",
                            "(d0, d1, d2, d3) -> (d0, d1, d2)"],
}


def dot_form(op: ir.Operation) -> bool:
    """A one-row `linalg.matmul` (a decode step) whose B is read through the
    transposed map `(n, k)` (`x @ W^T` with W an argument, which compile-time packing
    cannot reach), or a `linalg.batch_matmul` of one-row A's against such B's (one
    query per head against the cached keys, `q K^T`): both operands are contiguous
    along K, so each output is a dot product of two rows, with no transpose of B.
    (With more rows the contraction's "dot" lowering does not apply, and packing B
    is amortised over the rows.)"""
    if op.name not in DOT_MAPS or "indexing_maps" not in op.attributes or len(op.results) != 1:
        return False
    maps = [str(ir.AffineMapAttr(m).value) for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if maps != DOT_MAPS[op.name]:
        return False
    a, b = (_static_shape(v) for v in list(op.operands)[:2])
    if a is None or b is None or 0 in a + b:
        return False
    element = ir.RankedTensorType(op.operands[0].type).element_type
    return (isinstance(element, ir.F32Type) and a[-2] == 1 and a[-1] % DOT_K == 0
            and b[-2] % DOT_ROWS == 0)


def dot_script(op: ir.Operation, a, b, threads: int, parallel: bool) -> str:
    """Threads over heads (batched) or column blocks, then tiles of 8 outputs over
    64-wide K steps: each tile reads 8 rows of B along K, multiplies them by A's row
    and reduces along K ("dot" lowering of the vector.contract, scoped to this op's
    loops, so B is never transposed). Measured on 2048x2048 (one thread): 0.88 ms,
    against 9.9 ms when B is transposed first and 1.0 ms for numpy's `x @ w.T`."""
    batch = a[0] if len(a) == 3 else 0
    m, k = a[-2:]
    n = b[-2]
    lead = [1] if batch else []
    small = threads > 1 and 2 * max(batch, 1) * m * n * k < cpu_tiles.MIN_PARALLEL_FLOPS
    lines = []
    current = "%op"
    if parallel and not small and not _in_loop(op) and threads > 1:
        if batch >= threads:
            sizes = [-(-batch // threads), 0, 0]
        else:
            chunk = -(-n // threads)
            chunk += -chunk % DOT_ROWS
            sizes = ([1] if batch else []) + [0, chunk]
        lines.append(f"    %dt, %dforall = transform.structured.tile_using_forall %op tile_sizes "
                     f"{ints(sizes)} : ({ANY}) -> ({ANY}, {ANY})")
        current = "%dt"
    loops = ", ".join(f"%dl{i}" for i in range(len(lead) + 2))
    lines.append(f"    %dr, {loops} = transform.structured.tile_using_for {current} tile_sizes "
                 f"{ints(lead + [0, DOT_ROWS, DOT_K])} : ({ANY}) -> ({', '.join([ANY] * (len(lead) + 3))})")
    lines.append(f"    transform.structured.vectorize %dr vector_sizes {ints(lead + [m, DOT_ROWS, DOT_K])} : {ANY}")
    lines.append(f"    transform.apply_patterns to %dl0 {{")
    lines.append(f"      transform.apply_patterns.vector.cast_away_vector_leading_one_dim")
    lines.append(f"    }} : {ANY}")
    lines.append(f"    transform.apply_patterns to %dl0 {{")
    lines.append(f"      transform.apply_patterns.vector.lower_contraction lowering_strategy = \"dot\"")
    lines.append(f"    }} : {ANY}")
    return "\n".join(lines)


def panel_script(op: ir.Operation, threads: int, parallel: bool) -> str | None:
    """The panel form of a matmul (lowering/panel_matmul.py): loop dims (m, j, r, k)
    over C3[m, j, r] += A[m, k] * Bp[j, k, r]; tiled as the matmul it came from,
    its register tile spanning one panel's NR columns."""
    a, bp = (_static_shape(v) for v in list(op.operands)[:2])
    if a is None or bp is None:
        return None
    m, k = a
    n = bp[0] * bp[2]
    small = threads > 1 and 2 * m * n * k < cpu_tiles.MIN_PARALLEL_FLOPS
    plan = _ContractionPlan(False, k, threads if parallel and not small else 1,
                            not _in_loop(op) and not small, panel=bp[2])
    return "\n".join(plan.lines("%op", 0, m, n, _fill_producer(op) is not None))


class _ContractionPlan:
    def __init__(self, batched: bool, k: int, threads: int, top_level: bool, panel: int = 0):
        self.batched, self.k, self.threads, self.top_level = batched, k, threads, top_level
        self.panel = panel  # NR of a panel-form contraction (0: a named matmul)
        self.count = 0

    def _name(self, stem: str) -> str:
        self.count += 1
        return f"%{stem}{self.count}"

    def lines(self, handle: str, batch: int, m: int, n: int, fill: bool) -> list[str]:
        mr, nr = cpu_tiles.register_tile(m, n, self.threads, batch=batch)
        if self.panel:
            mr, nr = cpu_tiles.register_tile(m, self.panel, self.threads)
        offset = 1 if self.batched else 0
        if (not self.batched and self.top_level and m > mr and m % mr and n % nr == 0
                and cpu_tiles.column_tiles(n, self.threads)):
            return self._rows_split_in_tiles(handle, m, n, mr, fill)
        splits = ((offset, m, mr),) if self.panel else ((offset + 1, n, nr), (offset, m, mr))
        for dim, size, tile in splits:
            if size % tile:
                main = size - size % tile
                out, first, second = self._split(handle, dim, main)
                if dim == offset + 1:
                    return (out + self.lines(first, batch, m, main, False)
                            + self.lines(second, batch, m, size - main, False))
                return (out + self.lines(first, batch, main, n, False)
                        + self.lines(second, batch, size - main, n, False))
        return self._tiled(handle, batch, m, n, fill)

    def _rows_split_in_tiles(self, handle: str, m: int, n: int, mr: int, fill: bool) -> list[str]:
        """Column thread tiles over all M rows, the rows that do not fill a register
        tile split off inside each tile: one parallel region, and B read once,
        not again for the remainder rows."""
        main = m - m % mr
        parts = [cpu_tiles.contraction_tiles(0, rows, n, self.k, self.threads)
                 for rows in (main, m - main)]
        if self.panel:
            parts = [cpu_tiles.panel_tiles(t, self.panel) for t in parts]
        whole = cpu_tiles.ContractionTiles((m,) + parts[0].thread[1:], parts[0].cache_k,
                                           parts[0].register)
        lines, tiled = self._forall(handle, whole, fill)
        split, first, second = self._split(tiled, 0, main)
        return lines + split + self.inner(first, parts[0]) + self.inner(second, parts[1])

    def _split(self, handle: str, dim: int, main: int) -> tuple[list[str], str, str]:
        """(lines, first, second): `handle` split along `dim` after `main`."""
        parts, first, second = self._name("s"), self._name("p"), self._name("p")
        return ([f"    {parts} = transform.structured.split {handle} after {main} "
                 f"{{dimension = {dim}}} : {ANY}",
                 f"    {first}, {second} = transform.split_handle {parts} : ({ANY}) -> ({ANY}, {ANY})"],
                first, second)

    def _tiled(self, handle: str, batch: int, m: int, n: int, fill: bool) -> list[str]:
        tiles = cpu_tiles.contraction_tiles(batch, m, n, self.k, self.threads)
        if self.panel:
            tiles = cpu_tiles.panel_tiles(tiles, self.panel)
        if self.top_level:
            lines, tiled = self._forall(handle, tiles, fill)
        else:
            tiled = self._name("t")
            lines = tile_using_for(handle, tiles.thread + (0,), tiled)
        return lines + self.inner(tiled, tiles)

    def _forall(self, handle: str, tiles: cpu_tiles.ContractionTiles, fill: bool):
        """(lines, handle of the op in the tile): thread tiles as one scf.forall, the
        zero fill fused in and vectorised along rows."""
        tiled, lines = self._name("t"), []
        forall, producer = self._name("forall"), self._name("fill")
        if fill:
            lines.append(f"    {producer} = transform.get_producer_of_operand {handle}[2]"
                         f" : ({ANY}) -> {ANY}")
        lines.append(f"    {tiled}, {forall} = transform.structured.tile_using_forall {handle} "
                     f"tile_sizes {ints(tiles.thread)} : ({ANY}) -> ({ANY}, {ANY})")
        if fill:
            fused, rows = self._name("ff"), self._name("ffr")
            lines.append(f"    {fused}, {self._name('fl')} = transform.structured.fuse_into_containing_op"
                         f" {producer} into {forall} : ({ANY}, {ANY}) -> ({ANY}, {ANY})")
            # Rows of at most 64 lanes: one huge vector for the whole tile
            # costs seconds of LLVM time.
            bound = list(tiles.thread)
            vector = [1] * (len(bound) - 1) + [min(bound[-1], cpu_tiles.VECTOR_TILE)]
            sizes = [0 if v >= b else v for v, b in zip(vector, bound)]
            lines += tile_using_for(fused, sizes, rows)
            lines.append(f"    transform.structured.vectorize {rows} vector_sizes {ints(vector)} : {ANY}")
        return lines, tiled

    def inner(self, tiled: str, tiles: cpu_tiles.ContractionTiles) -> list[str]:
        """The K block and the vectorised register tile of a thread tile."""
        lines = []
        if tiles.cache_k:
            blocked = self._name("tk")
            lines += tile_using_for(tiled, [0] * (len(tiles.register) - 1) + [tiles.cache_k], blocked)
            tiled = blocked
        kernel = self._name("r")
        if self.panel:
            # Panels outermost (a K x NR panel of B stays in L1 while the register
            # tiles walk down A's rows), or rows outermost: cpu_tiles.panels_outer.
            order = [1, 0, 2, 3] if cpu_tiles.panels_outer() else [0, 1, 2, 3]
            names = ", ".join([kernel] + [f"{kernel}_{i}" for i in range(4)])
            lines.append(f"    {names} = transform.structured.tile_using_for {tiled} tile_sizes "
                         f"{ints(tiles.register)} interchange = {ints(order)} : ({ANY}) -> "
                         f"({', '.join([ANY] * 5)})")
        else:
            lines += tile_using_for(tiled, tiles.register, kernel)
        lines.append(f"    transform.structured.vectorize {kernel} vector_sizes {ints(tiles.register)} : {ANY}")
        return lines


DEFAULT_MAPS = {
    "linalg.matmul": ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d2, d1)",
                      "(d0, d1, d2) -> (d0, d1)"],
    "linalg.batch_matmul": ["(d0, d1, d2, d3) -> (d0, d1, d3)", "(d0, d1, d2, d3) -> (d0, d3, d2)",
                            "(d0, d1, d2, d3) -> (d0, d1, d2)"],
}


def _default_maps(op: ir.Operation) -> bool:
    """Whether a named contraction has its plain (untransposed, unbroadcast) operands."""
    if "indexing_maps" not in op.attributes:
        return True
    maps = [str(ir.AffineMapAttr(a).value) for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    return maps == DEFAULT_MAPS[op.name]


def _clip(sizes, shape):
    return [min(s, d) if s else d for s, d in zip(sizes, shape)]


def _fill_producer(op: ir.Operation) -> ir.Operation | None:
    """The linalg.fill that initialises a contraction's accumulator, if any."""
    owner = list(op.operands)[-1].owner
    if isinstance(owner, (ir.Operation, ir.OpView)) and owner.name == "linalg.fill":
        return owner
    return None


def generic_script(op: ir.Operation, threads: int, parallel: bool) -> str | None:
    iterators = _iterators(op)
    # Several results tile and vectorise together when every loop is parallel
    # (the fused rotary generic); a multi-result reduction (an argmax) does not.
    if len(op.results) != 1 and "reduction" in iterators:
        return None
    ranges = _loop_ranges(op)
    if ranges is None or not ranges or 0 in ranges:
        return None
    tiles = cpu_tiles.generic_tiles(ranges, iterators, threads if parallel else 1,
                                    transposing=_transposing(op))
    lines = []
    current = "%op"
    bound = list(ranges)
    if tiles.thread:
        lines.append(f"    %t, %forall = transform.structured.tile_using_forall %op tile_sizes "
                     f"{ints(tiles.thread)} : ({ANY}) -> ({ANY}, {ANY})")
        current = "%t"
        bound = _clip(tiles.thread, ranges)
    sizes = [0 if v >= b else v for v, b in zip(tiles.vector, bound)]
    vector = [min(v, b) for v, b in zip(tiles.vector, bound)]
    lines += tile_and_vectorize(current, sizes, vector, "%r")
    return "\n".join(lines)


def fill_script(op: ir.Operation, threads: int, parallel: bool) -> str | None:
    shape = _static_shape(op.results[0])
    if not shape or 0 in shape:
        return None
    tiles = cpu_tiles.generic_tiles(shape, ["parallel"] * len(shape), 1)
    sizes = [0 if v >= d else v for v, d in zip(tiles.vector, shape)]
    return "\n".join(tile_and_vectorize("%op", sizes, tiles.vector, "%r"))


# (vector.broadcast, transpose and shape_cast lowering is left to
# convert-vector-to-llvm: their patterns and canonicalization undo each other forever.)
FINISH = f"""    %f = transform.structured.match ops{{["func.func"]}} in %root : ({ANY}) -> {ANY}
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.reduction_to_contract
    }} : {ANY}
    transform.apply_patterns to %f {{
      transform.apply_patterns.canonicalization
      transform.apply_patterns.linalg.tiling_canonicalization
      transform.apply_patterns.tensor.fold_tensor_subset_ops_into_vector_transfers
    }} : {ANY}
    transform.apply_cse to %f : {ANY}
    %loops = transform.structured.match ops{{["scf.for"]}} in %f : ({ANY}) -> {ANY}
    transform.foreach %loops : {ANY} {{
    ^bb0(%lp: {ANY}):
      transform.loop.hoist_loop_invariant_subsets %lp : {ANY}
    }}
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
      transform.apply_patterns.vector.lower_masked_transfers
      transform.apply_patterns.canonicalization
    }} : {ANY}
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerreduction"
    }} : {ANY}
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
    }} : {ANY}

    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.unroll_from_elements
      transform.apply_patterns.vector.unroll_to_elements
    }} : {ANY}
    transform.apply_cse to %f : {ANY}"""


def _concat_to_copies(root: ir.Operation) -> None:
    """`tensor.concat` -> `insert_slice`s -> `linalg.copy`s, which are then
    vectorised like any generic (bufferized concats copy strided slices through
    the scalar `memrefCopy` runtime otherwise)."""
    if not walk_ops(root, "tensor.concat"):
        return
    if not _try(root,
                f'    %f = transform.structured.match ops{{["func.func"]}} in %root : ({ANY}) -> {ANY}\n'
                f"    transform.apply_patterns to %f {{\n"
                f"      transform.apply_patterns.tensor.decompose_concat\n"
                f"    }} : {ANY}"):
        return
    inserts = [op for op in walk_ops(root, "tensor.insert_slice")
               if _static_shape(op.operands[0]) and not _in_loop(op)]
    if not inserts:
        return
    for op in inserts:
        op.attributes[TAG] = ir.UnitAttr.get()
    try:
        apply_transform(root, named_sequence(
            f"    %ins = transform.structured.match attributes{{{TAG}}} in %root : ({ANY}) -> {ANY}\n"
            f"    transform.foreach %ins : {ANY} {{\n"
            f"    ^bb0(%i: {ANY}):\n"
            f"      %c = transform.structured.insert_slice_to_copy %i : ({ANY}) -> {ANY}\n"
            f"    }}"))
    except (ir.MLIRError, ValueError):
        pass  # the inserts stay; bufferization copies them
    _clear_tags(root)


def _try(root: ir.Operation, body: str) -> bool:
    """Apply a script; a refusal leaves valid IR for the lowering that follows."""
    try:
        apply_transform(root, named_sequence(body))
        return True
    except (ir.MLIRError, ValueError):
        return False


def _generalize(root: ir.Operation) -> None:
    ops = [op for name in GENERALIZABLE for op in walk_ops(root, name)]
    if not ops:
        return
    names = ", ".join(f'"{n}"' for n in GENERALIZABLE)
    _try(root, f"    %ops = transform.structured.match ops{{[{names}]}} in %root : ({ANY}) -> {ANY}\n"
               f"    %g = transform.structured.generalize %ops : ({ANY}) -> {ANY}")


def _tag_all(root: ir.Operation, names) -> list[tuple[int, ir.Operation]]:
    """Number the ops named `names` (`TAG = i`): transforms replace ops, so
    scripts find their op by this tag, never by a Python reference."""
    # Only ops on tensors: the schedule works before bufferization.
    ops = [op for op in walk_ops(root) if op.name in names and len(op.results) > 0]
    i64 = ir.IntegerType.get_signless(64)
    for i, op in enumerate(ops):
        op.attributes[TAG] = ir.IntegerAttr.get(i64, i)
    return list(enumerate(ops))


def _clear_tags(root: ir.Operation) -> None:
    for op in walk_ops(root):
        if TAG in op.attributes:
            del op.attributes[TAG]


def _function_named(root: ir.Operation, name: str) -> ir.Operation:
    if root.name == "func.func":
        return root
    return next(f for f in functions(root) if symbol_name(f) == name)


def _apply_or_restore(root: ir.Operation, func_name: str, script: str) -> bool:
    """Apply a script; if a transform refuses, or leaves IR that does not verify
    (the masked vectoriser can), put the function back as it was: the op is then
    left to the loop lowering. False if it was put back."""
    # A pass may not replace the op it runs on: under func.func(...) there is no undo.
    snapshot = _function_named(root, func_name).clone() if root.name != "func.func" else None
    # Errors a transform emits without failing (they would reach the user's
    # stderr as if compilation had failed) count as a refusal too.
    emitted: list[str] = []

    def swallow(diagnostic) -> bool:
        if diagnostic.severity == ir.DiagnosticSeverity.ERROR:
            emitted.append(diagnostic.message)
        return True

    handler = root.context.attach_diagnostic_handler(swallow)
    try:
        apply_transform(root, named_sequence(script))
        _function_named(root, func_name).verify()
        if emitted:
            raise ValueError(f"transform emitted: {emitted[0]}")
        return True
    except (ir.MLIRError, ValueError):
        if snapshot is None:
            return False
        current = _function_named(root, func_name)
        ir.InsertionPoint(current).insert(snapshot)
        current.erase()
        return False
    finally:
        handler.detach()


def _run(root: ir.Operation, tag: int, func_name: str, script: str) -> bool:
    """Run one op's script; False (function restored) if it failed."""
    match = (f"    %op = transform.structured.match attributes{{{TAG} = {tag} : i64}} in %root"
             f" : ({ANY}) -> {ANY}\n")
    return _apply_or_restore(root, func_name, match + script)


def _plan(root: ir.Operation, names, builders, threads: int):
    """(tag, name, function, script or None) for every op named `names`,
    decided before anything is transformed."""
    plans = []
    for tag, op in _tag_all(root, names):
        parallel = threads > 1 and not _in_loop(op)
        script = builders[op.name](op, threads, parallel)
        file, line, col = location_parts(op.location)
        where = f"{op.name} ({file}:{line}:{col})" if file else op.name
        plans.append((tag, where, symbol_name(_function_of(op)), script))
    return plans


def schedule(root: ir.Operation, threads: int) -> None:
    """Apply the cpu schedule to every function under `root` (a module)."""
    drop_unused_results(root)  # softmax's unused argmax (lowering/unused_results.py)
    split_concat_operands(root, _in_loop)  # a KV cache read in place (split_concat_operands.py)
    _concat_to_copies(root)
    # Constant weights of one-row products in the dot form's layout, the others plain.
    pack_row_operands(root, lambda k, n: k % DOT_K == 0 and n % DOT_ROWS == 0)
    pack_constant_operands(root, dot_form)
    pack_transposed_operands(root, dot_form)
    pack_panels(root, cpu_tiles.panel_width(), _in_loop)
    _generalize(root)
    drop_unit_dims(root)  # keep-dim reductions become fusible (lowering/unit_dims.py)
    _fuse_epilogues(root, threads)
    _fuse_rows(root, threads)
    builders = {name: contraction_script for name in CONTRACTIONS}
    builders["linalg.generic"] = lambda op, threads, parallel: (
        panel_script if PANEL in op.attributes else generic_script)(op, threads, parallel)
    for tag, name, func_name, script in _plan(root, tuple(builders), builders, threads):
        if script is None:
            skipped("attn-cpu-schedule", _function_named(root, func_name),
                    f"{name}: dynamic, zero-size or unsupported shape, left to loops")
        elif _run(root, tag, func_name, script):
            fired("attn-cpu-schedule", _function_named(root, func_name), f"{name} tiled and vectorised")
        else:
            skipped("attn-cpu-schedule", _function_named(root, func_name),
                    f"{name}: transform failed, left to loops")
    _clear_tags(root)
    # Fills not fused into a contraction (reduction inits, for example) are vectorised too.
    for tag, _, func_name, script in _plan(root, ("linalg.fill",), {"linalg.fill": fill_script},
                                           threads):
        if script is not None:
            _run(root, tag, func_name, script)
    _clear_tags(root)
    for op in walk_ops(root):
        if PANEL in op.attributes:
            del op.attributes[PANEL]
    _try(root, FINISH)
    approximate_erf_tanh(root)  # creates math.exp ops, rewritten next
    approximate_exp(root)


def _epilogue_tiles(group: epilogue_fusion.Group, threads: int):
    """Each product's tiles (their thread tiles are the same: they depend on M and
    N), in the panel form's loop dims for panel products; None when a product
    would be split (M or N not a multiple of the register tile) or is too small
    for threads: the ops are then scheduled one by one."""
    nr = cpu_tiles.panel_width()
    mr, tile_n = cpu_tiles.register_tile(group.m, nr if group.panel else group.n, threads)
    if group.m < 2 or group.m % mr or group.n % (nr if group.panel else tile_n):
        return None
    if threads > 1 and any(2 * group.m * group.n * k < cpu_tiles.MIN_PARALLEL_FLOPS for k in group.k):
        return None
    tiles = [cpu_tiles.contraction_tiles(0, group.m, group.n, k, threads) for k in group.k]
    return [cpu_tiles.panel_tiles(t, nr) for t in tiles] if group.panel else tiles


def _epilogue_script(group: epilogue_fusion.Group, tiles: list, threads: int) -> str:
    """Thread tiles of the sink as its products would get them; the chain, each
    product and its fill fused in (chain values and products read once per tile,
    after CSE); products register-tiled as any matmul, the chain vectorised along
    rows."""
    thread = tiles[0].thread
    members = len(group.members)
    lines = [f'    %fn = transform.structured.match ops{{["func.func"]}} in %root : ({ANY}) -> {ANY}',
             epilogue_fusion.TAGS.match(0, "%e")]
    for i, product in enumerate(group.products, members + 1):
        lines.append(epilogue_fusion.TAGS.match(i, f"%p{i}"))
        if _fill_producer(product) is not None:
            lines.append(f"    %z{i} = transform.get_producer_of_operand %p{i}[2] : ({ANY}) -> {ANY}")
    lines.append(f"    %et, %forall = transform.structured.tile_using_forall %e tile_sizes "
                 f"{ints(thread)} : ({ANY}) -> ({ANY}, {ANY})")
    for i in range(members, 0, -1):
        lines += [epilogue_fusion.TAGS.match(i, f"%m{i}"),
                  f"    %fm{i}, %fml{i} = transform.structured.fuse_into_containing_op %m{i} into "
                  f"%forall : ({ANY}, {ANY}) -> ({ANY}, {ANY})",
                  f"    transform.apply_cse to %fn : {ANY}"]
    rows = [1] * (len(thread) - 1) + [min(thread[-1], cpu_tiles.VECTOR_TILE)]
    row_sizes = [0 if v >= b else v for v, b in zip(rows, thread)]
    for i in range(members + 1, members + 1 + len(group.products)):
        lines += [f"    %fp{i}, %fpl{i} = transform.structured.fuse_into_containing_op %p{i} into "
                  f"%forall : ({ANY}, {ANY}) -> ({ANY}, {ANY})",
                  f"    transform.apply_cse to %fn : {ANY}"]
    for i, product in enumerate(group.products, members + 1):
        if _fill_producer(product) is not None:
            lines.append(f"    %fz{i}, %fzl{i} = transform.structured.fuse_into_containing_op %z{i} into "
                         f"%forall : ({ANY}, {ANY}) -> ({ANY}, {ANY})")
            lines += tile_and_vectorize(f"%fz{i}", row_sizes, rows, f"%fzr{i}")
    for i, (k, product_tiles) in enumerate(zip(group.k, tiles), members + 1):
        plan = _ContractionPlan(False, k, threads, True,
                                panel=cpu_tiles.panel_width() if group.panel else 0)
        plan.count = 100 * i  # names distinct from the other products'
        lines.append(epilogue_fusion.TAGS.match(i, f"%in{i}", "%forall"))
        lines += plan.inner(f"%in{i}", product_tiles)
    # The thread tile of a named product is [MT, NT]; the chain's is the same.
    for i in range(members, -1, -1):
        lines.append(epilogue_fusion.TAGS.match(i, f"%in{i}", "%forall"))
        lines += tile_and_vectorize(f"%in{i}", row_sizes, rows, f"%v{i}")
    return "\n".join(lines)


def _fuse_epilogues(root: ir.Operation, threads: int) -> None:
    """Elementwise consumers of matmuls computed in the matmuls' tiles
    (lowering/epilogue_fusion.py), group by group (found again after each: a
    refused script restores its function as a copy, its sink marked)."""
    nr = cpu_tiles.panel_width()
    while True:
        groups = epilogue_fusion.find_groups(root, _in_loop)
        if not groups:
            break
        group = groups[0]
        func_name = symbol_name(_function_of(group.sink))
        tiles = _epilogue_tiles(group, threads)
        if tiles is None:
            group.sink.attributes[epilogue_fusion.TAGS.refused] = ir.UnitAttr.get()
            continue
        epilogue_fusion.own_accumulators(group.products)
        members = group.members + [group.sink]
        if group.panel:
            members = epilogue_fusion.to_panel_view(group, nr)
        epilogue_fusion.TAGS.number([members[-1]] + members[:-1] + group.products)
        if _apply_or_restore(root, func_name, _epilogue_script(group, tiles, threads)):
            fired("attn-cpu-schedule", _function_named(root, func_name),
                  f"{len(group.products)} matmul(s) fused with {len(members)} elementwise op(s)")
        else:
            epilogue_fusion.TAGS.refuse(_function_named(root, func_name), 0)
            skipped("attn-cpu-schedule", _function_named(root, func_name),
                    "epilogue fusion failed; ops scheduled one by one")
        epilogue_fusion.TAGS.clear(root)
    epilogue_fusion.TAGS.clear(root, refused=True)


def _fuse_rows(root: ir.Operation, threads: int) -> None:
    """Softmax-like chains, row block by row block (lowering/row_fusion.py).

    Groups are found again after each script: a refused script restores its
    function as a copy (the ops of its other groups are then new objects), and
    its sink is marked so that the copy's other groups are still tried."""
    info = row_fusion._Info(_loop_ranges, _iterators, _in_loop, _static_shape)
    # Each try fuses a group (its sink moves into a loop) or marks its sink.
    budget = len(row_fusion.find_groups(root, info))
    for _ in range(budget):
        groups = row_fusion.find_groups(root, info)
        if not groups:
            break
        group = groups[0]
        func_name = symbol_name(_function_of(group[-1]))
        script = row_fusion.group_script(group, info, threads)
        row_fusion.TAGS.clear(root)
        row_fusion.TAGS.number(group)
        if _apply_or_restore(root, func_name, script):
            fired("attn-cpu-schedule", _function_named(root, func_name),
                  f"{len(group)} row-wise ops fused")
        else:
            row_fusion.TAGS.refuse(_function_named(root, func_name), len(group) - 1)
            skipped("attn-cpu-schedule", _function_named(root, func_name),
                    "row fusion failed; ops scheduled one by one")
    row_fusion.TAGS.clear(root, refused=True)


def _function_of(op: ir.Operation) -> ir.Operation:
    while op.parent is not None and op.name != "func.func":
        op = op.parent
    return op


@register_pass("attn-cpu-schedule",
               summary="Tile, vectorise and parallelise linalg ops for the host CPU (AVX-512 aware).",
               options=(Option("threads", int, 0, "threads for scf.forall tiles (0: all cores)"),))
def cpu_schedule_pass(op, threads=0):
    """Tiling and vectorisation preserve the computation exactly (up to float
    reassociation of reductions); ops it cannot handle are left unchanged."""
    if threads < 0:
        raise AttnError(f"attn-cpu-schedule: threads must be >= 0, got {threads}", usage=True)
    schedule(op, threads or cpu_count())
