"""Constant access: the one place that turns constant attributes into numpy arrays.

Real frontends (torch-mlir's FX importer, for example) emit weights as
`dense_resource<name>` attributes whose bytes live in the module's
`{-# dialect_resources #-}` section. MLIR 22's Python bindings cannot read
those bytes; `resource_blobs.blob_view` reads them in place (without it, the
module's printed form carries them as hex, read once per module). Such
constants become plain `dense<...>` attributes (`inline_dense_resources`), so
every pass, the lowering and the JIT see ordinary dense constants.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from mlir import ir
from mlir.dialects import arith

from . import weights
from .resource_blobs import UNAVAILABLE, blob_view
from .diagnostics import AttnError, Diagnostic, location_parts
from .ir_utils import root_op, walk_ops

_RESOURCE_REF = re.compile(r'dense_resource<(?:"((?:[^"\\]|\\.)*)"|([^>]+))>')
_BLOB_SECTION = re.compile(r"\{-#\s*dialect_resources:\s*\{(.*)\}\s*#-\}", re.DOTALL)
_BLOB_ENTRY = re.compile(r'(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_.$\-0-9]+))\s*:\s*"0x([0-9A-Fa-f]*)"')

_NUMPY_DTYPES = {
    "f16": np.float16, "f32": np.float32, "f64": np.float64,
    "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64,
    "si8": np.int8, "si16": np.int16, "si32": np.int32, "si64": np.int64,
    "i1": np.bool_, "index": np.int64,
}


def is_a(obj, cls) -> bool:
    """Whether an attribute or type can be viewed as `cls` (the bindings' cast check)."""
    if isinstance(obj, cls):
        return True
    # The bindings return attributes and types as their concrete classes: only a
    # plain `ir.Attribute` / `ir.Type` needs the cast (a failed cast prints `obj`
    # into its error message: every byte of a weight, ~15 ms for 16 MB of hex).
    if type(obj) not in (ir.Attribute, ir.Type):
        return False
    try:
        cls(obj)
        return True
    except (ValueError, TypeError):
        return False


def numpy_dtype(element_type: ir.Type):
    """The numpy dtype for an MLIR element type, or None if numpy has none."""
    return _NUMPY_DTYPES.get(str(element_type))


def _resource_name(attr: ir.Attribute) -> str:
    match = _RESOURCE_REF.search(str(attr))
    return match.group(1) if match.group(1) is not None else match.group(2).strip()


def read_resource_blobs(module_op: ir.Operation) -> dict[str, bytes]:
    """All `builtin` resource blobs of a module, by name, without the alignment prefix."""
    text = module_op.get_asm(large_elements_limit=16)
    section = _BLOB_SECTION.search(text)
    blobs: dict[str, bytes] = {}
    if section:
        for match in _BLOB_ENTRY.finditer(section.group(1)):
            name = match.group(1) if match.group(1) is not None else match.group(2)
            raw = bytes.fromhex(match.group(3))
            blobs[name] = raw[4:]  # the first 4 bytes hold the blob's alignment
    return blobs


def _resource_blob(attr: ir.Attribute, printed) -> bytes | np.ndarray | None:
    """The blob of a dense_resource attribute: in place, else from the printed module
    (`printed()`: the module's blobs, read once, `_printed_blobs`)."""
    view = blob_view(attr)
    if view is not UNAVAILABLE:
        return view
    return printed().get(_resource_name(attr))


def _printed_blobs(module_op: ir.Operation):
    """A callable returning `read_resource_blobs(module_op)`, printing the module at most
    once and only when called."""
    return functools.cache(lambda: read_resource_blobs(module_op))


def _array_from_blob(blob, tensor_type: ir.RankedTensorType, copy: bool = True) -> np.ndarray:
    dtype = numpy_dtype(tensor_type.element_type)
    if dtype is None:
        raise ValueError(f"unsupported element type {tensor_type.element_type}")
    shape = list(tensor_type.shape)
    count = int(np.prod(shape)) if shape else 1
    array = np.frombuffer(blob, dtype=dtype)
    if array.size == 1 and count != 1:
        array = np.broadcast_to(array, (count,))
    if array.size != count:
        raise ValueError(f"blob holds {array.size} elements, type {tensor_type} needs {count}")
    return np.array(array.reshape(shape)) if copy else array.reshape(shape)


def dense_attr(array: np.ndarray, tensor_type: ir.Type | None = None) -> ir.DenseElementsAttr:
    """A dense elements attribute holding `array` (splat when all elements are equal)."""
    array = np.ascontiguousarray(array)
    if tensor_type is None:
        tensor_type = ir.RankedTensorType.get(list(array.shape), element_type_for(array.dtype))
    tensor_type = ir.RankedTensorType(tensor_type)
    if array.dtype == np.bool_:
        packed = np.packbits(array.reshape(-1), bitorder="little")
        return ir.DenseElementsAttr.get(packed, type=tensor_type)
    if array.size > 1 and np.all(array.reshape(-1) == array.reshape(-1)[0]):
        scalar = array.reshape(-1)[0]
        et = tensor_type.element_type
        if is_a(et, ir.FloatType):
            # FloatAttr.get checks the value at a location: give it one when the
            # caller is in no `with ir.Location` (a pass's run).
            elem = ir.FloatAttr.get(et, float(scalar), loc=ir.Location.unknown(et.context))
        else:
            elem = ir.IntegerAttr.get(et, int(scalar))
        return ir.DenseElementsAttr.get_splat(tensor_type, elem)
    return ir.DenseElementsAttr.get(array, type=tensor_type)


def element_type_for(dtype) -> ir.Type:
    dtype = np.dtype(dtype)
    for name, candidate in _NUMPY_DTYPES.items():
        if np.dtype(candidate) == dtype and not name.startswith(("si", "ui")) and name != "index":
            return ir.Type.parse(name)
    raise ValueError(f"no MLIR element type for numpy dtype {dtype}")


def inline_dense_resources(module_op: ir.Operation) -> int:
    """Replace every `dense_resource` constant with a `dense` one holding the same bytes.

    Returns the number of constants rewritten. Raises AttnError (with the
    constant's location) when a blob is missing or does not fit its type.
    """
    constants = []

    def collect(op):
        if op.name == "arith.constant":
            value = op.attributes["value"]
            if is_a(value, ir.DenseResourceElementsAttr):
                constants.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(collect, ir.WalkOrder.PRE_ORDER)
    if not constants:
        return 0
    printed = _printed_blobs(module_op)
    for op in constants:
        attr = ir.DenseResourceElementsAttr(op.attributes["value"])
        name = _resource_name(attr)
        tensor_type = ir.RankedTensorType(attr.type)
        blob = _resource_blob(attr, printed)
        if blob is None:
            raise _constant_error(op, f"dense_resource '{name}' has no blob in the module's dialect_resources")
        try:
            # A view of the blob: the dense attribute below is MLIR's own copy.
            array = _array_from_blob(blob, tensor_type, copy=False)
        except ValueError as e:
            raise _constant_error(op, f"dense_resource '{name}': {e}") from None
        op.attributes["value"] = dense_attr(array, tensor_type)
    return len(constants)


def _constant_error(op, message: str) -> AttnError:
    file, line, col = location_parts(op.location)
    return AttnError([Diagnostic("error", message, file, line, col)])


def array_of_attr(attr: ir.Attribute) -> np.ndarray | None:
    """The elements of a dense elements attribute as a numpy array (None otherwise)."""
    if not is_a(attr, ir.DenseElementsAttr):
        return None
    dense = ir.DenseElementsAttr(attr)
    shaped = ir.ShapedType(dense.type)
    dtype = numpy_dtype(shaped.element_type)
    if dtype is None:
        return None
    shape = list(shaped.shape) if shaped.has_rank else []
    if dense.is_splat:
        scalar = dense.get_splat_value()
        value = _scalar_of_attr(scalar)
        return np.full(shape, value, dtype=dtype)
    if is_a(attr, ir.DenseFPElementsAttr):
        return np.array(ir.DenseFPElementsAttr(attr), dtype=dtype).reshape(shape)
    if is_a(attr, ir.DenseIntElementsAttr):
        if dtype == np.bool_:
            return np.array([bool(ir.DenseIntElementsAttr(attr)[i]) for i in range(len(dense))],
                            dtype=np.bool_).reshape(shape)
        return np.array(ir.DenseIntElementsAttr(attr), dtype=dtype).reshape(shape)
    return None


def _scalar_of_attr(attr: ir.Attribute):
    if is_a(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value
    if is_a(attr, ir.IntegerAttr):
        return ir.IntegerAttr(attr).value
    if is_a(attr, ir.BoolAttr):
        return ir.BoolAttr(attr).value
    raise ValueError(f"not a scalar attribute: {attr}")


LOAD_WEIGHT = "ml_program.global_load_const"


def external_global(op: ir.Operation) -> ir.Operation | None:
    """The `ml_program.global` with an `#ml_program.extern` value that `op` (a
    `global_load_const`) loads, or None."""
    if op.name != LOAD_WEIGHT:
        return None
    try:
        symbol = ir.FlatSymbolRefAttr(op.attributes["global"]).value
        found = ir.SymbolTable(root_op(op))[symbol]
    except (KeyError, ValueError):
        return None
    found = found.operation
    return found if found.name == "ml_program.global" and weights.is_external(found) else None


def weight_name(op: ir.Operation) -> str | None:
    """The weights-file name of the weight `op` loads (weights.py), else None."""
    found = external_global(op)
    return None if found is None else ir.StringAttr(found.attributes["sym_name"]).value


def weight_array(op: ir.Operation) -> np.ndarray | None:
    """The weight `op` loads, as a read-only view of its mapped file (weights.py), or None
    if `op` loads none or no file of the module holds it."""
    name = weight_name(op)
    if name is None:
        return None
    try:
        return weights.lookup(root_op(op), name)
    except weights.WeightsError:
        return None


def constant_producer(value: ir.Value) -> ir.Operation | None:
    """The op producing `value` if it is a compile-time constant: an `arith.constant`,
    or a load of a weight held in a file (weights.py); else None."""
    owner = value.owner
    if not isinstance(owner, (ir.OpView, ir.Operation)):
        return None
    op = owner.operation
    return op if op.name == "arith.constant" or weight_name(op) is not None else None


# New weights at least this large go beside the module's weights files, not into the IR.
MIN_FILE_WEIGHT_BYTES = 4096


def create_weight(array: np.ndarray, tensor_type: ir.Type | None = None) -> ir.Value:
    """A constant for weights a rewrite computes, at the current insertion point.

    In a module that keeps its weights in files, a float array of at least
    `MIN_FILE_WEIGHT_BYTES` becomes a derived weight (`weights.add_derived`),
    loaded like the file-held ones and bound the same way; anything else is an
    `arith.constant` (`create_constant`).
    """
    root = root_op(ir.InsertionPoint.current.block.owner.operation)
    array = np.asarray(array)
    if (array.nbytes < MIN_FILE_WEIGHT_BYTES or array.dtype.kind != "f"
            or not weights.keeps_weights_in_files(root)):
        return create_constant(array, tensor_type)
    if tensor_type is None:
        tensor_type = ir.RankedTensorType.get(list(array.shape), element_type_for(array.dtype))
    tensor_type = ir.RankedTensorType(tensor_type)
    array = np.asarray(array, dtype=numpy_dtype(tensor_type.element_type)).reshape(tensor_type.shape)
    return _derived_load(root, array, tensor_type)


def _derived_load(root: ir.Operation, array: np.ndarray, tensor_type: ir.RankedTensorType) -> ir.Value:
    """Keep `array` among `root`'s derived weights, declare its external global and load
    it at the current insertion point."""
    table = ir.SymbolTable(root)
    name = weights.add_derived(root, array, lambda candidate: candidate in table)
    with ir.InsertionPoint.at_block_begin(root.regions[0].blocks[0]), ir.Location.unknown():
        ir.Operation.create("ml_program.global", attributes={
            "sym_name": ir.StringAttr.get(name), "sym_visibility": ir.StringAttr.get("private"),
            "type": ir.TypeAttr.get(tensor_type),
            "value": ir.Attribute.parse(f"#ml_program.extern : {tensor_type}")})
    load = ir.Operation.create(LOAD_WEIGHT, results=[tensor_type],
                               attributes={"global": ir.FlatSymbolRefAttr.get(name)})
    return load.results[0]


def externalize_constants(func_op: ir.Operation, min_bytes: int) -> int:
    """Move the float weights of `func_op` held as `arith.constant`s of at least
    `min_bytes` into the module's derived weights (loaded like file-held ones), for a
    compiler that binds weights as arguments (the JIT): the machine code then holds
    no copy of them, and what packing derives from them replaces them in memory.
    Returns how many were moved."""
    root = root_op(func_op)
    found = []
    for op in walk_ops(func_op, "arith.constant"):
        attr = op.attributes["value"]
        if not is_a(attr, ir.DenseFPElementsAttr) or ir.DenseElementsAttr(attr).is_splat:
            continue
        t = ir.RankedTensorType(ir.DenseElementsAttr(attr).type)
        element = numpy_dtype(t.element_type)
        if element is None or int(np.prod(t.shape)) * np.dtype(element).itemsize < min_bytes:
            continue
        found.append((op, t))
    for op, t in found:
        with ir.InsertionPoint(op), op.location:
            load = _derived_load(root, array_of_attr(op.attributes["value"]), t)
        op.results[0].replace_all_uses_with(load)
        op.erase()
    return len(found)


def drop_unused_weights(module_op: ir.Operation) -> None:
    """Erase the external globals nothing loads any more, and forget the derived weights
    (`create_weight`) among them: what later rewrites replaced must not stay in memory."""
    loaded = {ir.FlatSymbolRefAttr(op.attributes["global"]).value
              for op in walk_ops(module_op, LOAD_WEIGHT)}
    for op in walk_ops(module_op, "ml_program.global"):
        if ir.StringAttr(op.attributes["sym_name"]).value not in loaded and weights.is_external(op):
            op.erase()
    weights.keep_only_derived(module_op, loaded)


def inline_derived(module_op: ir.Operation) -> int:
    """Put the module's derived weights (`create_weight`) back into the IR as constants
    and forget the in-memory store (for output with no file beside it); returns how
    many loads were replaced."""
    derived = weights.derived_names(module_op)
    if not derived:
        return 0
    count = _inline_loads(module_op, lambda name: name in derived)
    names = [n for n in weights.file_names(module_op) if not n.startswith(weights.DERIVED_PREFIX)]
    with module_op.context:
        module_op.attributes[weights.ATTRIBUTE] = ir.ArrayAttr.get(
            [ir.StringAttr.get(n) for n in names])
    for op in walk_ops(module_op, "ml_program.global"):
        if ir.StringAttr(op.attributes["sym_name"]).value in derived:
            op.erase()
    return count


def _inline_loads(module_op: ir.Operation, chosen) -> int:
    loads = [op for op in walk_ops(module_op, LOAD_WEIGHT)
             if weight_name(op) is not None and chosen(weight_name(op))]
    for op in loads:
        array = weight_array(op)
        if array is None:
            raise _constant_error(op, f"weight '{weight_name(op)}' is in none of the module's "
                                      "weights files")
        with ir.InsertionPoint(op), op.location:
            value = create_constant(np.array(array), op.results[0].type)
        op.results[0].replace_all_uses_with(value)
        op.erase()
    return len(loads)


def constant_array(value: ir.Value) -> np.ndarray | None:
    """The value as a numpy array if it is produced by a constant op, else None.

    Scalars (`arith.constant 2.0 : f32`) come back as 0-d arrays. A
    `dense_resource` constant is read from its module's blob section; a weight
    loaded from a weights file (`ml_program.global_load_const` of an external
    global, weights.py) comes back as a read-only view of the mapped file.
    """
    owner = value.owner
    if not isinstance(owner, ir.OpView) and not isinstance(owner, ir.Operation):
        return None  # a block argument
    op = owner.operation if hasattr(owner, "operation") else owner
    if op.name == LOAD_WEIGHT:
        return weight_array(op)
    if op.name != "arith.constant":
        return None
    attr = op.attributes["value"]
    if is_a(attr, ir.DenseResourceElementsAttr):
        blob = _resource_blob(attr, _printed_blobs(root_op(op)))
        if blob is None:
            return None
        return _array_from_blob(blob, ir.RankedTensorType(ir.DenseResourceElementsAttr(attr).type))
    array = array_of_attr(attr)
    if array is not None:
        return array
    try:
        scalar = _scalar_of_attr(attr)
    except ValueError:
        return None
    dtype = numpy_dtype(value.type) or np.float64
    return np.array(scalar, dtype=dtype)


def create_constant(array: np.ndarray, tensor_type: ir.Type | None = None) -> ir.Value:
    """Build an `arith.constant` holding `array` at the current insertion point."""
    attr = dense_attr(array, tensor_type)
    return arith.ConstantOp(attr.type, attr).result
