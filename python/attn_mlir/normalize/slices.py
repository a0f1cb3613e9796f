"""One spelling for a slice's stride along a dimension it takes one element of.

    tensor.extract_slice %t[o0, o1] [n, 1] [s0, s1]   ==>  ... [n, 1] [s0, 1]
    tensor.insert_slice %v into %t[...] [n, 1] [s0, s1] ==>  ... [n, 1] [s0, 1]

A slice of static size 1 along a dimension reads or writes the element at the
offset whatever the stride (static or an SSA value), so the stride is 1.
Besides being one spelling, this keeps a rank-reducing slice lowerable: after
bufferization a `memref.subview` that drops a unit dimension with a stride
other than 1 (or a dynamic one) cannot find the dropped dimension in its layout,
and MLIR asserts (aborts the process). Legality: the size is static 1.
"""

from __future__ import annotations

from mlir import ir

# Operand segments before the offsets: (source) for extract, (source, dest) for insert.
_LEADING = {"tensor.extract_slice": 1, "tensor.insert_slice": 2}


def unit_strides(op, rewriter) -> bool:
    """Rebuild `op` with stride 1 along its unit-size dimensions (a dynamic stride there
    loses its operand); whether it did."""
    if "static_sizes" not in op.attributes or "static_strides" not in op.attributes:
        return False
    sizes = list(ir.DenseI64ArrayAttr(op.attributes["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(op.attributes["static_strides"]))
    segments = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
    leading = _LEADING[op.name]
    if len(sizes) != len(strides) or len(segments) != leading + 3:
        return False
    new = [1 if size == 1 else stride for size, stride in zip(sizes, strides)]
    if new == strides:
        return False
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    operands = list(op.operands)
    first_stride = sum(segments[:leading + 2])
    # The dynamic strides' operands, in order; those along unit dims are dropped.
    values = iter(operands[first_stride:])
    kept = []
    for stride, replacement in zip(strides, new):
        if stride == dynamic:
            value = next(values)
            if replacement == dynamic:
                kept.append(value)
    attributes = {name: op.attributes[name] for name in op.attributes}
    with op.context:
        attributes["static_strides"] = ir.DenseI64ArrayAttr.get(new)
        attributes["operandSegmentSizes"] = ir.DenseI32ArrayAttr.get(segments[:-1] + [len(kept)])
        with ir.InsertionPoint(op), op.location:
            rebuilt = ir.Operation.create(op.name, results=[r.type for r in op.results],
                                          operands=operands[:first_stride] + kept,
                                          attributes=attributes)
    rewriter.replace_op(op, rebuilt)
    return True


REWRITES = [(name, unit_strides) for name in ("tensor.extract_slice", "tensor.insert_slice")]
