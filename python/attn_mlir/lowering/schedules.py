"""Schedules: the replaceable stage of `attn-to-llvm` that turns linalg into loops.

A schedule contributes passes before bufferization (on tensors: tiling,
fusion, vectorisation), after it (on buffers: loops, vector lowering,
threads) and the conversion to the LLVM dialect.

* `loops`: every linalg op becomes a scalar loop nest (simple, slow, the
  reference for the others).
* `cpu`: tiled, vectorised (AVX-512 register tiles, FMA micro-kernels) and,
  with `threads` > 1, parallel over OpenMP (lowering/cpu_schedule.py).
"""

from __future__ import annotations

from . import approximate_erf_tanh as _approximate_erf_tanh  # noqa: F401  (registers the pass)
from . import approximate_exp as _approximate_exp  # noqa: F401  (registers the pass)
from . import expand_powers as _expand_powers  # noqa: F401  (registers the pass)
from . import unused_results as _unused_results  # noqa: F401  (registers the pass)
from . import cpu_schedule as _cpu_schedule  # noqa: F401  (registers the pass)
from . import vectorize_copies as _vectorize_copies  # noqa: F401  (registers the pass)

LOOPS = "loops"
CPU = "cpu"

NAMES = (CPU, LOOPS)
DEFAULT = CPU


def tensor_stage(name: str, threads: int = 1) -> list:
    from ..pipeline import make_pass

    # x^2 as x*x: a vector fpowi does not lower to LLVM, a vector powf calls libm per lane.
    powers = [make_pass("attn-expand-powers")]
    if name == CPU:
        return powers + [make_pass("attn-cpu-schedule", {"threads": threads}), "canonicalize", "cse"]
    # LLVM has no erf: the loops need its arithmetic form too.
    return powers + [make_pass("attn-approximate-erf-tanh")]


def buffer_stage(name: str, threads: int = 1) -> list:
    if name != CPU:
        return ["convert-linalg-to-loops"]
    from ..pipeline import make_pass

    stage = [make_pass("attn-vectorize-strided-copies"), "convert-linalg-to-loops"]
    if threads > 1:
        # Parallel tiles run on OpenMP threads (libiomp5, loaded by the JIT).
        stage += ["scf-forall-to-parallel", f"convert-scf-to-openmp{{num-threads={threads}}}"]
    else:
        stage += ["scf-forall-to-for"]
    # vector.mask regions are lowered first: unrolling a masked transfer inside one
    # would put several ops under a single mask, which does not verify.
    return stage + ["func.func(lower-vector-mask)", "convert-vector-to-scf{full-unroll=true}"]


def to_llvm(name: str, threads: int, default: list) -> list:
    """The conversion to LLVM: `default` for plain loops; for `cpu` also vector
    and OpenMP conversions, with memref lowered before scf (OpenMP regions hold
    `memref.alloca_scope`s that must be lowered while still structured)."""
    if name != CPU:
        return default
    stage = ["func.func(llvm-request-c-wrappers)", "expand-strided-metadata", "lower-affine",
             "arith-expand", "convert-vector-to-llvm{reassociate-fp-reductions=true vector-transpose-lowering=shuffle16x16}",
             "finalize-memref-to-llvm", "convert-scf-to-cf"]
    if threads > 1:
        stage.append("convert-openmp-to-llvm")
    return stage + ["convert-math-to-llvm", "convert-arith-to-llvm", "convert-cf-to-llvm",
                    "convert-func-to-llvm", "convert-index-to-llvm", "convert-ub-to-llvm",
                    "reconcile-unrealized-casts"]
