"""Static facts the upstream verifiers accept wrongly: checked right after parsing.

Each check below is something the MLIR 22 verifiers let through, and that then
fails deep in the lowering (see also `source.precheck`, for text the parser
would abort on):

- A static entry of `tensor.expand_shape`'s `output_shape` must equal the result
  type's dim (`memref.expand_shape` checks this; the tensor op does not, and the
  mismatch surfaces only after bufferization).
- A `tensor.cast` to a static size must not contradict a size the value is
  known to have: the verifier compares types only, so a cast of a `?` whose
  value is 3 to a 0 is accepted, and the lowerings then disagree (one folds it
  into an invalid `memref.cast`, another reads out of bounds). Sizes are
  followed through casts, destination-style results (their init), and
  `tensor.empty` sizes that are constants or `tensor.dim`s of known sizes.
- The operands of a linalg op must agree on each loop's size where one of them
  has size 0: the structured-op verifier skips zero-size dims, so a reduction
  into a `2x0` tensor over a loop that another operand sizes 1 verifies, and
  then writes out of bounds.
- A slice with static offsets, sizes and strides (`tensor.extract_slice`,
  `tensor.insert_slice`, `memref.subview`) must stay inside the sliced value's
  static dims: the verifiers check the result type only, so a stride of -2^31
  verifies and the compiled code reads far outside the buffer.

`check(module)` returns located errors; it changes nothing.
"""

from __future__ import annotations

from mlir import ir

from .constants import is_a
from .diagnostics import Diagnostic, error_at
from .match.contraction import operand_maps


def _static_shape(value: ir.Value) -> list[int | None] | None:
    if not is_a(value.type, ir.ShapedType):
        return None
    t = ir.ShapedType(value.type)
    if not t.has_rank:
        return None
    return [None if t.is_dynamic_dim(i) else t.get_dim_size(i) for i in range(t.rank)]


def _expand_shape(op: ir.Operation) -> Diagnostic | None:
    if op.name != "tensor.expand_shape" or "static_output_shape" not in op.attributes:
        return None
    result = _static_shape(op.results[0])
    try:
        static = list(ir.DenseI64ArrayAttr(op.attributes["static_output_shape"]))
    except (ValueError, TypeError):
        return None
    if result is None or len(static) != len(result):
        return None
    dynamic = ir.ShapedType.get_dynamic_size()
    for pos, (given, size) in enumerate(zip(static, result)):
        if given != dynamic and size is not None and given != size:
            return error_at(op, f"'tensor.expand_shape' output_shape gives {given} at position "
                              f"{pos}, but the result type has {size}")
    return None


_MAX_DEPTH = 64  # long def chains are followed this far, then the size counts as unknown


def _constant_index(value: ir.Value) -> int | None:
    owner = value.owner
    if not isinstance(owner, ir.OpView) and not isinstance(owner, ir.Operation):
        return None
    op = owner.operation
    if op.name != "arith.constant" or not isinstance(value.type, ir.IndexType):
        return None
    try:
        return ir.IntegerAttr(op.attributes["value"]).value
    except (ValueError, TypeError, KeyError):
        return None


def _known_shape(value: ir.Value, memo: dict, depth: int = 0) -> list[int | None] | None:
    """`value`'s sizes as far as its definition tells them (None where unknown)."""
    shape = _static_shape(value)
    if shape is None or None not in shape or depth > _MAX_DEPTH:
        return shape
    key = value
    if key in memo:
        return memo[key]
    memo[key] = shape  # a cycle (graph regions) ends here
    owner = value.owner
    op = owner.operation if isinstance(owner, (ir.OpView, ir.Operation)) else None
    source: list[int | None] | None = None
    if op is None:
        source = None
    elif op.name == "tensor.cast":
        source = _known_shape(op.operands[0], memo, depth + 1)
    elif op.name == "tensor.empty":
        dynamic = iter(op.operands)
        source = [size if size is not None else _size_of(next(dynamic, None), memo, depth + 1)
                  for size in shape]
    elif "outs" in _segment_names(op):
        index = ir.OpResult(value).result_number if isinstance(value, ir.OpResult) else None
        inits = _inits(op)
        if index is not None and index < len(inits):
            source = _known_shape(inits[index], memo, depth + 1)
    if source is not None and len(source) == len(shape):
        shape = [given if given is not None else found for given, found in zip(shape, source)]
    memo[key] = shape
    return shape


def _size_of(size: ir.Value | None, memo: dict, depth: int) -> int | None:
    if size is None:
        return None
    if (constant := _constant_index(size)) is not None:
        return constant
    owner = size.owner
    if isinstance(owner, (ir.OpView, ir.Operation)) and owner.operation.name == "tensor.dim":
        dim = owner.operation
        index = _constant_index(dim.operands[1])
        shape = _known_shape(dim.operands[0], memo, depth + 1)
        if index is not None and shape is not None and 0 <= index < len(shape):
            return shape[index]
    return None


def _segment_names(op: ir.Operation) -> tuple:
    """("ins", "outs") for destination-style linalg ops, else ()."""
    return ("ins", "outs") if op.name.startswith("linalg.") and "operandSegmentSizes" in op.attributes else ()


def _inits(op: ir.Operation) -> list[ir.Value]:
    try:
        sizes = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
    except (ValueError, TypeError, KeyError):
        return []
    if len(sizes) != 2:
        return []
    return list(op.operands)[sizes[0]:sizes[0] + sizes[1]]


def _cast_contradiction(op: ir.Operation, memo: dict) -> Diagnostic | None:
    if op.name != "tensor.cast":
        return None
    target = _static_shape(op.results[0])
    known = _known_shape(op.operands[0], memo)
    if target is None or known is None or len(target) != len(known):
        return None
    for pos, (want, have) in enumerate(zip(target, known)):
        if want is not None and have is not None and want != have:
            shown = "x".join("?" if d is None else str(d) for d in known)
            return error_at(op, f"'tensor.cast' to {op.results[0].type} of a value of shape "
                              f"{shown}: dim {pos} is {have}, not {want}")
    return None


def _zero_size_loop(op: ir.Operation) -> Diagnostic | None:
    if not op.name.startswith("linalg."):
        return None
    maps = operand_maps(op)
    if len(maps) != len(op.operands):
        return None
    sizes: dict[int, tuple[int, int]] = {}  # loop -> (size, operand giving it)
    for index, (operand, affine_map) in enumerate(zip(op.operands, maps)):
        shape = _static_shape(operand)
        if shape is None or len(shape) != len(affine_map.results):
            continue
        for pos, expr in enumerate(affine_map.results):
            if not isinstance(expr, ir.AffineDimExpr) or shape[pos] is None:
                continue
            loop, size = expr.position, shape[pos]
            if loop in sizes and (sizes[loop][0] == 0) != (size == 0):
                other_size, other = sizes[loop]
                return error_at(op, f"'{op.name}' operand #{index} has size {size} in dim {pos}, "
                                  f"where operand #{other} makes loop d{loop} of size {other_size}")
            sizes.setdefault(loop, (size, index))
    return None


_SLICED = {"tensor.extract_slice": 0, "tensor.insert_slice": 1, "memref.subview": 0}


def _slice_out_of_bounds(op: ir.Operation) -> Diagnostic | None:
    """A static slice whose first or last element along a dim is outside that dim."""
    index = _SLICED.get(op.name)
    if index is None or len(op.operands) <= index:
        return None
    try:
        offsets, sizes, strides = (list(ir.DenseI64ArrayAttr(op.attributes[name]))
                                   for name in ("static_offsets", "static_sizes", "static_strides"))
    except (KeyError, ValueError):
        return None
    shape = _static_shape(op.operands[index])
    if shape is None or not len(shape) == len(offsets) == len(sizes) == len(strides):
        return None
    dynamic = ir.ShapedType.get_dynamic_size()  # kDynamic, also for offsets and strides
    for dim, (extent, offset, size, stride) in enumerate(zip(shape, offsets, sizes, strides)):
        if extent is None or dynamic in (offset, size, stride) or size == 0:
            continue
        last = offset + (size - 1) * stride
        if not (0 <= offset < extent and 0 <= last < extent):
            return error_at(op, f"'{op.name}' reaches index {offset if not 0 <= offset < extent else last} "
                                f"of dim {dim} (offset {offset}, size {size}, stride {stride}), "
                                f"outside its size {extent}")
    return None


def check(module: ir.Module) -> list[Diagnostic]:
    """Located errors for the ops of `module` that break a fact above."""
    found: list[Diagnostic] = []
    memo: dict = {}

    def visit(op):
        op = op.operation if hasattr(op, "operation") else op
        for diagnostic in (_expand_shape(op), _cast_contradiction(op, memo), _zero_size_loop(op),
                           _slice_out_of_bounds(op)):
            if diagnostic is not None:
                found.append(diagnostic)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found
