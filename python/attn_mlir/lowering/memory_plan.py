"""`attn-plan-memory`: a function's temporaries live in one workspace planned at compile time.

Shapes are static, so every temporary buffer's size and lifetime are known
when the function is compiled. After bufferization, each static
`memref.alloc` in the body of an entry function (a public function nothing
in the module calls) becomes a `memref.view` at a planned byte offset of one
uninitialised `memref.global` (the workspace). Temporaries whose lifetimes do
not overlap share bytes. A call then allocates nothing: no `malloc`, no
fresh `mmap`, no page faults after the first call, and no process-wide
allocator setting is needed. The workspace lives as long as the compiled
code (the JIT's memory, or the shared library's).

Identity: a buffer's contents are only read between its allocation and its
last use, so any bytes no other live buffer uses at that time hold it
equally well (an allocation's contents are undefined either way).

Lifetimes: the entry block's ops are numbered; a buffer lives from its alloc
to the last op of the block that uses it or anything that may alias it (the
memref results of every op that takes it, and of the block-level op around
every nested use, are taken as aliases, transitively: never too short).

A temporary of one iteration of a top-level `scf.forall` (a thread tile's
scratch: a fused product's tile, a row block's intermediate, the attention
kernel's score block) is first given a slot of one buffer made before the loop
(`privatize_forall_allocs`): one slot per OpenMP thread (iterations that run at
the same time are on different threads, and a thread's slot stays in its
cache), and that buffer is planned like any other; a call then mallocs
nothing per tile either.

A result computed in a temporary and copied into its out-parameter through
reshapes (torch-mlir's [1, S, H] view of an [S, H] product) is computed in the
out-parameter instead (`elide_result_copies`): one pass over the result less.

Legality (else the alloc is left as it is): the function has one block, is
public and is not called in the module (a workspace is one per function, so
calls must not overlap: callers serialise them, see jit.py); the alloc is in
that block, static, with the identity layout; neither it nor an alias is
returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, llvm, memref

from ..ir_utils import functions, is_declaration, is_public, symbol_name, walk_ops
from ..diagnostics import AttnError
from ..passes import Option, register_pass

ALIGNMENT = 64          # bytes: one cache line, a full AVX-512 register
PREFIX = "__attn_workspace_"


@dataclass(frozen=True)
class Buffer:
    """A temporary: `size` bytes live from op `start` to op `end` (inclusive)."""

    size: int
    start: int
    end: int


def _round_up(a: int, b: int) -> int:
    return -(-a // b) * b


def plan_offsets(buffers: list[Buffer], alignment: int = ALIGNMENT) -> tuple[list[int], int]:
    """Byte offsets for `buffers` such that two buffers whose lifetimes overlap
    never share a byte, and the total size: largest buffers first, each at the
    lowest aligned offset that fits between the already placed buffers it meets."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].start))
    offsets = [0] * len(buffers)
    placed: list[int] = []
    total = 0
    for i in order:
        b = buffers[i]
        busy = sorted((offsets[j], offsets[j] + buffers[j].size) for j in placed
                      if buffers[j].start <= b.end and b.start <= buffers[j].end)
        at = 0
        for lo, hi in busy:
            if at + b.size <= lo:
                break
            at = max(at, _round_up(hi, alignment))
        offsets[i] = at
        placed.append(i)
        total = max(total, at + b.size)
    return offsets, _round_up(total, alignment)


def _is_memref(t: ir.Type) -> bool:
    return isinstance(t, ir.MemRefType) or str(t).startswith(("memref<", "tensor<"))


def _block_ancestor(op: ir.Operation, block_ops: dict) -> ir.Operation | None:
    """The op of the function's block that contains `op` (or `op` itself)."""
    while op is not None:
        if op in block_ops:
            return op
        parent = op.parent
        if parent is None or parent.name == "func.func":
            return None
        op = parent
    return None


def _alias_users(alloc: ir.Operation, related=lambda user: ()):
    """Every op that uses the alloc or a memref that may alias it: the memref results
    of each user, and of the ops `related(user)` gives, transitively."""
    pending, seen = [alloc.results[0]], {alloc.results[0]}
    while pending:
        value = pending.pop()
        for use in value.uses:
            user = use.owner
            user = user.operation if hasattr(user, "operation") else user
            yield user
            for op in (user, *related(user)):
                for r in op.results:
                    # Values hash by identity in the IR (Python wrappers come and go).
                    if _is_memref(r.type) and r not in seen:
                        seen.add(r)
                        pending.append(r)


def _lifetime(alloc: ir.Operation, block_ops: dict) -> int | None:
    """Index of the last op of the block that uses the alloc or an alias; None if it escapes."""
    end = block_ops[alloc]

    def top(user):  # the block-level op around a nested use
        ancestor = _block_ancestor(user, block_ops)
        return (ancestor,) if ancestor is not None else ()

    for user in _alias_users(alloc, top):
        if user.name == "func.return":
            return None
        ancestor = _block_ancestor(user, block_ops)
        if ancestor is None:
            return None
        end = max(end, block_ops[ancestor])
    return end


def _plannable(op: ir.Operation) -> ir.MemRefType | None:
    if op.name != "memref.alloc" or len(op.operands) != 0:
        return None
    t = ir.MemRefType(op.results[0].type)
    if not t.has_static_shape or str(t.layout) != str(ir.AffineMapAttr.get(
            ir.AffineMap.get_identity(t.rank))) or t.memory_space is not None:
        return None
    if isinstance(t.element_type, (ir.IntegerType, ir.FloatType)):
        return t
    return None


def _byte_size(t: ir.MemRefType) -> int:
    bits = t.element_type.width
    count = 1
    for d in t.shape:
        count *= d
    return (count * bits + 7) // 8


def _called(module_op: ir.Operation) -> set[str]:
    names = set()
    for op in walk_ops(module_op, "func.call"):
        names.add(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    return names


MAX_PRIVATE_BYTES = 1 << 30   # all slots of one loop; beyond it the buffers stay mallocs
TERMINATORS = ("scf.yield", "scf.condition", "scf.forall.in_parallel", "func.return")
PARALLEL = ("scf.forall", "scf.parallel")
THREAD_NUM = "omp_get_thread_num"


def _static_bounds(forall: ir.Operation) -> list[int] | None:
    """Trip counts of a normalised, bufferized `scf.forall` (bounds 0..n, step 1)."""
    try:
        lower, upper, step = (list(ir.DenseI64ArrayAttr(forall.attributes[name]))
                              for name in ("staticLowerBound", "staticUpperBound", "staticStep"))
    except (KeyError, ValueError):
        return None
    if len(forall.operands) != 0 or any(lower) or any(s != 1 for s in step) or any(u <= 0 for u in upper):
        return None  # dynamic bounds or shared outputs (not yet bufferized)
    return upper


def _iteration_local(alloc: ir.Operation, forall: ir.Operation) -> bool:
    """Whether a buffer allocated in `forall`'s body is dead when the op that allocated
    it runs again in the same thread: it is under no other parallel loop, and neither
    it nor an alias leaves its region through a terminator (a loop-carried buffer)."""
    parent = alloc.parent
    while parent != forall:
        if parent.name in PARALLEL:
            return False
        parent = parent.parent
    return not any(user.name in TERMINATORS for user in _alias_users(alloc))


def _thread_num(module_op: ir.Operation) -> str:
    """Declare `omp_get_thread_num` (libiomp5) in the module once, as an LLVM
    function (a func.func declaration would get a C-interface wrapper); its name."""
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "llvm.func" and symbol_name(op.operation) == THREAD_NUM:
            return THREAD_NUM
    declaration = ir.Operation.parse(f"llvm.func @{THREAD_NUM}() -> i32")
    ir.InsertionPoint.at_block_begin(module_op.regions[0].blocks[0]).insert(declaration)
    return THREAD_NUM


def privatize_forall_allocs(func_op: ir.Operation, module_op: ir.Operation, threads: int = 0) -> int:
    """Give each static alloc in the body of a top-level `scf.forall` (a buffer of
    one iteration, or of one step of a loop inside it) a slot of its own in one
    buffer allocated before the loop, and return how many were replaced.

    Slots: one per thread when `threads` > 1 (the loop runs on an OpenMP team of
    that many threads, `omp_get_thread_num` picks the slot: a thread's slot stays
    in its cache from one iteration to the next), one when `threads` is 1 (the loop
    runs in order), one per iteration when `threads` is 0 (unknown). Identity:
    iterations that may run at the same time never share a slot, and a slot is
    reused only after the buffer that held it is dead (`_iteration_local`)."""
    count = 0
    index = ir.IndexType.get()
    i8 = ir.IntegerType.get_signless(8)
    for forall in [op.operation for op in func_op.regions[0].blocks[0].operations]:
        if forall.name != "scf.forall":
            continue
        bounds = _static_bounds(forall)
        body = forall.regions[0].blocks[0]
        if bounds is None or len(body.arguments) != len(bounds):
            continue
        allocs = [(op, t) for op in walk_ops(forall, "memref.alloc")
                  if (t := _plannable(op)) is not None and _iteration_local(op, forall)]
        slots = threads if threads > 0 else 1
        for b in bounds if threads == 0 else []:
            slots *= b
        # Each slot holds all the buffers one after the other (buffers of one
        # thread at the same offset of per-buffer arrays would sit a power of two
        # apart and share L1 sets).
        sizes = [_round_up(max(_byte_size(t), 1), ALIGNMENT) for _, t in allocs]
        span = sum(sizes)
        if not allocs or span * slots > MAX_PRIVATE_BYTES:
            continue
        with ir.InsertionPoint(forall), forall.location:
            whole = memref.alloc(ir.MemRefType.get([span * slots], i8), [], [], alignment=ALIGNMENT)
        with ir.InsertionPoint(body.operations[0]), forall.location:
            if threads > 1:
                tid = llvm.call(ir.IntegerType.get_signless(32), [], [], ir.DenseI32ArrayAttr.get([]),
                                callee=ir.FlatSymbolRefAttr.get(_thread_num(module_op)))
                slot = arith.index_cast(index, tid)
            elif threads == 1:
                slot = arith.constant(index, 0)
            else:
                slot = body.arguments[0]
                for iv, bound in zip(list(body.arguments)[1:], bounds[1:]):
                    slot = arith.addi(arith.muli(slot, arith.constant(index, bound)), iv)
            base = arith.muli(slot, arith.constant(index, span))
        at = 0
        for (op, t), size in zip(allocs, sizes):
            with ir.InsertionPoint(op), op.location:
                offset = arith.addi(base, arith.constant(index, at))
                view = memref.view(t, whole, offset, [])
            op.results[0].replace_all_uses_with(view)
            op.erase()
            at += size
            count += 1
    return count


RESHAPES = ("memref.collapse_shape", "memref.expand_shape")


def _reassociation(op: ir.Operation) -> list[list[int]]:
    return [[ir.IntegerAttr(i).value for i in ir.ArrayAttr(group)]
            for group in ir.ArrayAttr(op.attributes["reassociation"])]


def elide_result_copies(func_op: ir.Operation) -> int:
    """A result computed in a temporary and returned through a reshape (torch-mlir's
    [1, S, H] view of a [S, H] product, a collapsed panel view) is copied into its
    out-parameter at the end: compute it there instead. The temporary becomes the
    out-parameter seen through the inverse reshapes; returns how many copies went.
    Legality: the copy is the out-parameter's only use and the last use of the
    temporary and its aliases, and the reshapes between them have no other use
    (so the out-parameter holds, at return, the bytes the copy would have put
    there); out-parameters never overlap the inputs (the calling convention)."""
    block = func_op.regions[0].blocks[0]
    ops = [op.operation for op in block.operations]
    block_ops = {op: i for i, op in enumerate(ops)}
    count = 0
    for copy in ops:
        if copy.name != "memref.copy":
            continue
        source, target = copy.operands
        if not isinstance(target, ir.BlockArgument) or target.owner != block \
                or len(list(target.uses)) != 1:
            continue
        chain, value, owner = [], source, None
        while not isinstance(value, ir.BlockArgument):
            owner = value.owner
            owner = owner.operation if hasattr(owner, "operation") else owner
            if owner.name not in RESHAPES:
                break
            if len(list(value.uses)) != 1:
                owner = None
                break
            chain.append(owner)
            value = owner.operands[0]
            owner = None
        if owner is None or owner not in block_ops or _plannable(owner) is None:
            continue
        if _lifetime(owner, block_ops) != block_ops[copy]:
            continue
        # The inverse reshapes, from the out-parameter back to the temporary's type.
        inverse, view = [], target
        with ir.InsertionPoint.at_block_begin(block), copy.location:
            for reshape in chain:
                source_type = ir.MemRefType(reshape.operands[0].type)
                if reshape.name == "memref.collapse_shape":
                    view = memref.expand_shape(source_type, view, _reassociation(reshape), [],
                                               list(source_type.shape))
                else:
                    view = memref.collapse_shape(source_type, view, _reassociation(reshape))
                inverse.append(view.owner)
        if view.type != owner.results[0].type:
            for op in reversed(inverse):
                op.erase()
            continue
        copy.erase()
        for reshape in chain:
            reshape.erase()
        owner.results[0].replace_all_uses_with(view)
        owner.erase()
        count += 1
    return count


def plan_function(func_op: ir.Operation, module_op: ir.Operation, threads: int = 0) -> int:
    """Move the function's plannable allocs into its workspace; returns its size in bytes."""
    blocks = func_op.regions[0].blocks
    if len(blocks) != 1:
        return 0
    elide_result_copies(func_op)
    privatize_forall_allocs(func_op, module_op, threads)
    ops = [op.operation for op in blocks[0].operations]
    block_ops = {op: i for i, op in enumerate(ops)}
    chosen, buffers = [], []
    for op in ops:
        t = _plannable(op)
        if t is None:
            continue
        end = _lifetime(op, block_ops)
        if end is None:
            continue
        chosen.append((op, t))
        buffers.append(Buffer(max(_byte_size(t), 1), block_ops[op], end))
    if not chosen:
        return 0
    offsets, total = plan_offsets(buffers)
    name = PREFIX + symbol_name(func_op)
    i8 = ir.IntegerType.get_signless(8)
    space = ir.MemRefType.get([total], i8, loc=func_op.location)
    with ir.InsertionPoint.at_block_begin(module_op.regions[0].blocks[0]), func_op.location:
        memref.GlobalOp(sym_name=name, type_=space, sym_visibility="private",
                        alignment=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), ALIGNMENT))
    with ir.InsertionPoint.at_block_begin(blocks[0]), func_op.location:
        base = memref.get_global(space, name)
        shifts = {o: arith.constant(ir.IndexType.get(), o) for o in sorted(set(offsets))}
    for (op, t), offset in zip(chosen, offsets):
        with ir.InsertionPoint(op), op.location:
            view = memref.view(t, base, shifts[offset], [])
        op.results[0].replace_all_uses_with(view)
        op.erase()
    return total


def plan_memory(module_op: ir.Operation, threads: int = 0) -> dict[str, int]:
    """Workspace bytes per planned function name."""
    called = _called(module_op)
    sizes = {}
    for func_op in functions(module_op):
        if is_declaration(func_op) or not is_public(func_op) or symbol_name(func_op) in called:
            continue
        size = plan_function(func_op, module_op, threads)
        if size:
            sizes[symbol_name(func_op)] = size
    return sizes


@register_pass("attn-plan-memory",
               summary="Place the static temporaries of entry functions in one workspace "
                       "planned by lifetimes (no allocation per call).",
               options=(Option("threads", int, 0,
                               "threads the scf.forall loops will run on: a parallel tile's "
                               "buffers get one slot per thread (0: unknown, one per iteration)"),))
def plan_memory_pass(op, threads=0):
    """Each buffer keeps its own bytes for its whole lifetime, so results are unchanged."""
    if threads < 0:
        raise AttnError(f"attn-plan-memory: threads must be >= 0, got {threads}", usage=True)
    plan_memory(op, threads)
