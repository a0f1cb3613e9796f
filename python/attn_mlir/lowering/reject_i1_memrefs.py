"""`attn-reject-i1-memrefs`: report a 1-bit memory access before MLIR's LLVM lowering aborts on it.

MLIR 22's memref-to-LLVM conversion asserts (and so kills the process) on a
`memref.load` or `memref.store` of `i1`. `attn-widen-i1` removes i1 tensors
before bufferization; this check runs on buffers, and every pipeline
(`Pipeline.build`) runs it right before `finalize-memref-to-llvm`,
`convert-to-llvm` and `convert-vector-to-llvm`, so anything that would still
read or write an i1 element becomes a located error. It changes no IR.

Checked: loads, stores, copies and atomics of the `memref`, `affine` and
`vector` dialects, and any `linalg` op with an i1 memref operand (it becomes
loads and stores once lowered to loops).
"""

from __future__ import annotations

from mlir import ir

from ..diagnostics import AttnError, Diagnostic, location_parts
from ..ir_utils import walk_ops
from ..passes import register_pass

ACCESSES = frozenset({
    "memref.load", "memref.store", "affine.load", "affine.store", "memref.copy",
    "memref.atomic_rmw", "memref.generic_atomic_rmw",
    "vector.load", "vector.store", "vector.transfer_read", "vector.transfer_write",
    "vector.maskedload", "vector.maskedstore", "vector.gather", "vector.scatter",
    "vector.expandload", "vector.compressstore",
})


def _is_i1_memref(t: ir.Type) -> bool:
    return isinstance(t, (ir.MemRefType, ir.UnrankedMemRefType)) and \
        t.element_type == ir.IntegerType.get_signless(1, t.context)


def _accesses_i1(op: ir.Operation) -> bool:
    if op.name not in ACCESSES and not op.name.startswith("linalg."):
        return False
    return any(_is_i1_memref(v.type) for v in op.operands)


@register_pass("attn-reject-i1-memrefs",
               summary="Report loads and stores of i1 memrefs (MLIR 22's LLVM lowering aborts on them).")
def reject_i1_memrefs(op):
    """Every offending op gets one diagnostic; the IR is left unchanged."""
    found = []
    for child in walk_ops(op):
        if _accesses_i1(child):
            file, line, col = location_parts(child.location)
            found.append(Diagnostic("error", f"'{child.name}' accesses i1 elements in memory, "
                                             "which the LLVM lowering cannot do (widen them to i8)",
                                    file, line, col))
    if found:
        raise AttnError(found)
