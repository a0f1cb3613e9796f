"""One spelling for a slice's stride along a dimension it takes one element of.

    tensor.extract_slice %t[o0, o1] [n, 1] [s0, s1]   ==>  ... [n, 1] [s0, 1]
    tensor.insert_slice %v into %t[...] [n, 1] [s0, s1] ==>  ... [n, 1] [s0, 1]

A slice of static size 1 along a dimension reads or writes the element at the
offset whatever the stride, so the stride is 1. Besides being one spelling, this
keeps a rank-reducing slice lowerable: after bufferization a `memref.subview`
that drops a unit dimension with a stride other than 1 cannot find the dropped
dimension in its layout, and MLIR asserts (aborts the process). Legality: the
size and the stride are static (a dynamic stride is left as it is).
"""

from __future__ import annotations

from mlir import ir

_DYNAMIC = -(2**63)  # ShapedType::kDynamic in static_sizes / static_strides


def unit_strides(op, rewriter) -> bool:
    """Make the static strides of `op`'s unit-size dimensions 1; whether it changed any."""
    if "static_sizes" not in op.attributes or "static_strides" not in op.attributes:
        return False
    sizes = list(ir.DenseI64ArrayAttr(op.attributes["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(op.attributes["static_strides"]))
    if len(sizes) != len(strides):
        return False
    new = [1 if size == 1 and stride not in (1, _DYNAMIC) else stride
           for size, stride in zip(sizes, strides)]
    if new == strides:
        return False
    # The strides are an attribute of the op: set in place (no op is replaced or erased).
    with op.context:
        op.attributes["static_strides"] = ir.DenseI64ArrayAttr.get(new)
    return True


REWRITES = [(name, unit_strides) for name in ("tensor.extract_slice", "tensor.insert_slice")]
