"""`attn-check-supported`: report what the lowering cannot compile before MLIR aborts on it.

`attn-to-llvm` runs this check first. Each case below kills the process (an
assertion in the MLIR build) when it reaches the lowering, so it becomes a
located error instead. The check changes no IR.

- Softmax and attention need floating-point elements: `linalg.softmax` and the
  `attn` ops on integer or `i1` tensors abort in the softmax decomposition and
  in the attn kernels (`cast<FloatType>`). f16, bf16, f32 and f64 compile.
  Integer and `i1` tensors elsewhere (masks, positions, ids) are fine.
- The `cpu` schedule tiles every linalg op; a static size of 0 in an operand or
  result (for example a matmul with K = 0) makes tiling assert or divide by
  zero (attn ops too: they become linalg first). The `loops` schedule handles empty loops, so the check applies to `cpu`
  only.
"""

from __future__ import annotations

from mlir import ir

from ..diagnostics import AttnError, error_at
from ..ir_utils import walk_ops
from ..passes import Option, register_pass

FLOAT_ONLY = ("linalg.softmax",)
FLOAT_ONLY_DIALECTS = ("attn.",)
TILED = ("attn.",)  # attn ops become linalg kernels the cpu schedule tiles; zero-size linalg ops it leaves to loops


def _element_type(t: ir.Type) -> ir.Type | None:
    if isinstance(t, (ir.RankedTensorType, ir.UnrankedTensorType, ir.MemRefType)):
        return t.element_type
    return None


def _is_float(t: ir.Type) -> bool:
    return isinstance(t, ir.FloatType)


def _non_float(op: ir.Operation) -> ir.Type | None:
    """The first non-float element type among `op`'s tensor operands and results
    (an `attn.sdpa` mask may be an i1 keep-mask: only q, k, v and the result count)."""
    values = list(op.operands) + list(op.results)
    if op.name == "attn.sdpa":
        values = list(op.operands)[:3] + list(op.results)
    for value in values:
        element = _element_type(value.type)
        if element is not None and not _is_float(element):
            return element
    return None


def _zero_size(op: ir.Operation) -> ir.Type | None:
    for value in list(op.operands) + list(op.results):
        t = value.type
        if isinstance(t, (ir.RankedTensorType, ir.MemRefType)) and any(
                not t.is_dynamic_dim(i) and t.shape[i] == 0 for i in range(t.rank)):
            return t
    return None


@register_pass("attn-check-supported",
               summary="Report element types and shapes the lowering cannot compile "
                       "(run first by attn-to-llvm).",
               options=(Option("schedule", str, "cpu",
                               "the schedule that follows (zero-size dims are checked for cpu)"),))
def check_supported(op, schedule="cpu"):
    """Every unsupported op gets one located error; the IR is left unchanged."""
    found = []
    for child in walk_ops(op):
        name = child.name
        if name in FLOAT_ONLY or name.startswith(FLOAT_ONLY_DIALECTS):
            if (element := _non_float(child)) is not None:
                found.append(error_at(child, f"unsupported element type {element} in '{name}': "
                                           "softmax and attention need floating-point elements "
                                           "(f16, bf16, f32 or f64)"))
                continue
        if schedule == "cpu" and name.startswith(TILED) and (t := _zero_size(child)):
            found.append(error_at(child, f"'{name}' has a zero-size dimension ({t}), which the cpu "
                                       "schedule cannot tile (use schedule=loops, or remove the "
                                       "empty computation)"))
    if found:
        raise AttnError(found)
