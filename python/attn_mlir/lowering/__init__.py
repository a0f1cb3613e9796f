"""Lowering from linalg-on-tensors to the LLVM dialect.

`attn-to-llvm` is the whole road: inline `dense_resource` weights, raise
attention and rotary embedding to attn ops and lower them to fused kernels
(`raise=false` keeps the linalg as written; attn ops are lowered either way),
decompose `linalg.softmax`, widen `i1` tensors to `i8` (MLIR 22's memref-to-LLVM
lowering aborts on 1-bit loads and stores; every pipeline runs
`attn-reject-i1-memrefs` before it to report any that are left), apply a
*schedule* (the replaceable stage that turns linalg into loops: tiled,
vectorised, multi-threaded `cpu` code by default, plain `loops` on request),
turn weights held in weights files into arguments the JIT binds once
(`attn-lift-weights`), mark public function arguments read-only, one-shot-bufferize across function
boundaries with results turned into caller-owned out-parameters, place the
entry function's static temporaries in one workspace planned at compile time
(`attn-plan-memory`), free every other internal buffer, and convert to LLVM with C interfaces on public functions.
"""

from __future__ import annotations

from ..constants import inline_dense_resources
from ..ir_utils import any_op_named
from ..passes import Option, Pass, register_pass
from ..transform_script import apply_transform, named_sequence
from . import (check_supported, lift_weights, memory_plan,  # noqa: F401 (registers the passes)
               readonly_arguments, reject_i1_memrefs, schedules, widen_i1)


@register_pass("attn-inline-dense-resources",
               summary="Turn dense_resource constants into dense constants holding the same bytes.")
def inline_dense_resources_pass(op):
    """Frontends store weights as `dense_resource` blobs; the rest of the compiler
    (numpy constant folding, the LLVM lowering) wants plain `dense` attributes."""
    inline_dense_resources(op)


@register_pass("attn-decompose-softmax",
               summary="Decompose linalg.softmax into max/sub-exp/sum/div generics.")
def decompose_softmax(op):
    """Uses the transform dialect's `decompose_interface` on every `linalg.softmax`."""
    if not any_op_named(op, "linalg.softmax"):
        return
    apply_transform(op, named_sequence(
        '    %s = transform.structured.match ops{["linalg.softmax"]} in %root'
        " : (!transform.any_op) -> !transform.any_op\n"
        "    %d = transform.structured.decompose_interface %s"
        " : (!transform.any_op) -> !transform.any_op"))


BUFFERIZE = [
    "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
    # Folds loop-carried buffers so a result computed in loops is returned as
    # its alloc, which the next pass then turns into the out-parameter (no copy).
    "canonicalize",
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions}",
]
# Static temporaries of entry functions go to one workspace planned by lifetimes;
# every other internal buffer is freed.
DEALLOCATE = ["attn-plan-memory", "buffer-deallocation-pipeline"]

TO_LLVM = [
    "func.func(llvm-request-c-wrappers)",
    "convert-scf-to-cf",
    "expand-strided-metadata",
    "lower-affine",
    "arith-expand",
    "finalize-memref-to-llvm",
    "convert-math-to-llvm",
    "convert-arith-to-llvm",
    "convert-cf-to-llvm",
    "convert-func-to-llvm",
    "convert-index-to-llvm",
    "reconcile-unrealized-casts",
]


@register_pass("attn-to-llvm", summary="Lower linalg-on-tensors attention to the LLVM dialect.",
               options=(
                   Option("schedule", str, schedules.DEFAULT,
                          "how linalg becomes loops: " + ", ".join(schedules.NAMES)),
                   Option("raise", bool, True,
                          "raise linalg attention/rotary to attn ops (fused kernels) first"),
                   Option("max-score-bytes", int, 256 << 10,
                          "attention whose score tensor fits in this many bytes keeps the plain "
                          "matmul/softmax/matmul chain, and so do decode steps; larger ones "
                          "get the fused kernel (0: always fused)"),
                   Option("threads", int, 0,
                          "threads of the cpu schedule (0: all cores, 1: no OpenMP)"),
               ))
class AttnToLLVM(Pass):
    is_pipeline = True

    def expand(self) -> list:
        if self.schedule not in schedules.NAMES:
            from ..diagnostics import AttnError

            raise AttnError(f"unknown schedule '{self.schedule}' for attn-to-llvm "
                            f"(known: {', '.join(schedules.NAMES)})", usage=True)
        from ..pipeline import make_pass
        from ..toolchain import cpu_count

        # attn-widen-i1 comes before the schedule so that tiled or vectorised code never
        # carries i1 tensors (the widening handles linalg and tensor ops, not scf/vector).
        threads = self.threads if self.threads > 0 else cpu_count()
        # Tiny attention (one head up to seq 256) stays linalg, where the fused kernel only
        # ties; attn-lower also gives decode steps (Sq = 1, no key reuse) the plain chain.
        small = {"max-score-bytes": self.max_score_bytes}
        attn = ([make_pass("attn-raise", {"min-score-bytes": self.max_score_bytes})]
                if self.values["raise"] else []) + [make_pass("attn-lower", small)]
        return ([make_pass("attn-check-supported", {"schedule": self.schedule}),
                 make_pass("attn-inline-dense-resources"), make_pass("attn-normalize")]
                + attn
                + [make_pass("attn-decompose-softmax"),
                   make_pass("attn-widen-i1")]
                + schedules.tensor_stage(self.schedule, threads)
                + [make_pass("attn-lift-weights"), make_pass("attn-readonly-arguments")]
                + BUFFERIZE
                + [make_pass(DEALLOCATE[0], {"threads": threads}), DEALLOCATE[1]]
                + schedules.buffer_stage(self.schedule, threads)
                + schedules.to_llvm(self.schedule, threads, TO_LLVM))
