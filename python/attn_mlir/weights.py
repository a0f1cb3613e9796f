"""Weights held outside the IR text: memory-mapped safetensors and `.npz` files.

A module names its weights files in the `attn.weights` module attribute (one
path or a list; relative paths are taken from the `.mlir` file's folder and
made absolute when it is parsed). A constant refers to a weight by name with a
`dense_resource` that has no blob in the module:

    module attributes {attn.weights = "model.safetensors"} {
      func.func @f(...) {
        %w = arith.constant dense_resource<layers.0.q_proj.weight> : tensor<2048x2048xf32>

The compiler reads such a weight as a read-only view of the mapped file (no
copy), and the JIT binds the compiled function to that memory once, when it is
built (lowering/lift_weights.py, jit.py). Blobs printed in the module's
`dialect_resources` section still work and win over a file of the same name.

Files: safetensors (the format's header is read here; no extra package), and
`.npz` archives written with `numpy.savez` (members stored uncompressed are
mapped; compressed ones are refused with the reason).

Weights the compiler computes from these (constants.create_weight) are
*derived*: kept in memory under a token that `attn.weights` lists like a file
(`attn-derived:<id>`), until `write_derived` puts them in a file beside an
output, or the process ends.
"""

from __future__ import annotations

import json
import math
import os
import struct
import uuid
import zipfile
from dataclasses import dataclass

import numpy as np
from mlir import ir

from .ir_utils import walk_ops

ATTRIBUTE = "attn.weights"
LIFTED = "attn.lifted_weights"  # set by attn-lift-weights: function -> weights it takes

# Weights that rewrites compute (a fused QKV, a weight packed into a kernel's
# layout) for a module whose weights are in files: held here, in memory, under
# a token the module lists in `attn.weights` like a file, until `write_derived`
# writes them next to the module's output.
DERIVED_PREFIX = "attn-derived:"
_DERIVED: dict[str, dict[str, np.ndarray]] = {}

_SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_SAFETENSORS_NAMES = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}
_MAX_HEADER = 100 << 20  # safetensors' own limit on the JSON header


class WeightsError(ValueError):
    """A weights file that cannot be read, with the reason."""


@dataclass(frozen=True)
class _Entry:
    dtype: np.dtype
    shape: tuple
    offset: int  # bytes from the start of the file


class WeightsFile:
    """The tensors of one file, by name, as read-only arrays over one memory map."""

    def __init__(self, path: str):
        self.path = path
        if not os.path.isfile(path):
            raise WeightsError(f"weights file '{path}' is not a regular file")
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise WeightsError(f"cannot read weights file '{path}': {e.strerror}") from None
        if path.endswith(".npz"):
            entries = _npz_entries(path)
        else:
            entries = _safetensors_entries(path, size)
        for name, entry in entries.items():
            end = entry.offset + entry.dtype.itemsize * math.prod(entry.shape)
            if entry.offset < 0 or end > size:
                raise WeightsError(f"weights file '{path}': tensor '{name}' lies outside the file")
        self._entries = entries
        # One map for the file; arrays are views into it (mode "r": writing raises).
        self._map = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return list(self._entries)

    def extent(self, name: str) -> tuple[int, int]:
        """(offset, bytes) of tensor `name` in the file."""
        entry = self._entries[name]
        return entry.offset, math.prod(entry.shape) * entry.dtype.itemsize

    def array(self, name: str) -> np.ndarray:
        entry = self._entries[name]
        offset, nbytes = self.extent(name)
        raw = self._map[offset:offset + nbytes]
        return raw.view(entry.dtype).reshape(entry.shape)


def _safetensors_entries(path: str, size: int) -> dict[str, _Entry]:
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise WeightsError(f"weights file '{path}' is not safetensors (shorter than 8 bytes)")
        (length,) = struct.unpack("<Q", head)
        if length > min(_MAX_HEADER, size - 8):
            raise WeightsError(f"weights file '{path}' is not safetensors (header of {length} bytes)")
        try:
            header = json.loads(f.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise WeightsError(f"weights file '{path}': the safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"weights file '{path}': the safetensors header is not a JSON object")
    entries = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise WeightsError(f"weights file '{path}': tensor '{name}' has a bad or unsupported "
                               f"entry {json.dumps(info)[:200]}") from None
        if min(shape, default=0) < 0 or begin < 0 or end - begin != dtype.itemsize * math.prod(shape):
            raise WeightsError(f"weights file '{path}': tensor '{name}' has {end - begin} bytes, "
                               f"not those of {info['dtype']} {list(shape)}")
        entries[name] = _Entry(dtype, shape, 8 + length + begin)
    return entries


def _npz_entries(path: str) -> dict[str, _Entry]:
    entries = {}
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[:-4]
                if info.compress_type != zipfile.ZIP_STORED:
                    raise WeightsError(f"weights file '{path}': '{name}' is compressed and cannot "
                                       "be mapped (write it with numpy.savez, not savez_compressed)")
                # The member's data follows its local header (30 bytes + name + extra field).
                raw.seek(info.header_offset)
                local = raw.read(30)
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                start = info.header_offset + 30 + name_len + extra_len
                raw.seek(start)
                version = np.lib.format.read_magic(raw)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                               np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(raw)
                if fortran and len(shape) > 1:
                    raise WeightsError(f"weights file '{path}': '{name}' is in Fortran order")
                if dtype.hasobject:
                    raise WeightsError(f"weights file '{path}': '{name}' holds Python objects")
                entries[name] = _Entry(np.dtype(dtype), tuple(shape), raw.tell())
    except (zipfile.BadZipFile, ValueError, OSError, struct.error) as e:
        if isinstance(e, WeightsError):
            raise
        raise WeightsError(f"weights file '{path}' is not a readable .npz archive ({e})") from None
    return entries


_OPEN: dict[tuple, WeightsFile] = {}


def open_weights(path: str) -> WeightsFile:
    """The file at `path`, mapped once per process (again when it changed on disk)."""
    path = os.path.abspath(path)
    try:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except OSError as e:
        raise WeightsError(f"cannot read weights file '{path}': {e.strerror}") from None
    if key not in _OPEN:
        for old in [k for k in _OPEN if k[0] == path]:
            del _OPEN[old]
        _OPEN[key] = WeightsFile(path)
    return _OPEN[key]


def write_safetensors(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` as a safetensors file (atomically: complete or absent)."""
    header, offset = {}, 0
    ordered = []
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype not in _SAFETENSORS_NAMES:
            raise WeightsError(f"cannot write '{name}': dtype {array.dtype} has no safetensors name")
        header[name] = {"dtype": _SAFETENSORS_NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        ordered.append(array)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 64)  # data starts 64-byte aligned in the file
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for array in ordered:
            np.ascontiguousarray(array).tofile(f) if array.size else None
    os.replace(partial, path)


def paths_of(attr: ir.Attribute) -> list[str] | None:
    """The paths an `attn.weights` attribute names, or None if it is not a string or a
    list of strings."""
    try:
        return [ir.StringAttr(attr).value]
    except ValueError:
        pass
    try:
        return [ir.StringAttr(a).value for a in ir.ArrayAttr(attr)]
    except ValueError:
        return None


def file_names(module_op: ir.Operation) -> list[str]:
    """The weights files a module names in `attn.weights` (in lookup order)."""
    if ATTRIBUTE not in module_op.attributes:
        return []
    return paths_of(module_op.attributes[ATTRIBUTE]) or []


def resolve_paths(module_op: ir.Operation, base_dir: str) -> None:
    """Make the module's weights paths absolute, taken from `base_dir`, and check that
    each file can be read (WeightsError otherwise)."""
    if ATTRIBUTE not in module_op.attributes:
        return
    names = paths_of(module_op.attributes[ATTRIBUTE])
    if names is None:
        raise WeightsError(f"'{ATTRIBUTE}' must be a string or an array of strings (paths of "
                           "weights files)")
    absolute = []
    for name in names:
        if name.startswith(DERIVED_PREFIX):
            if name[len(DERIVED_PREFIX):] not in _DERIVED:
                raise WeightsError(f"'{name}' names weights a rewrite computed in another "
                                   "process; write the module with attn-opt -o FILE to keep "
                                   "them in a file")
            absolute.append(name)
            continue
        absolute.append(os.path.normpath(os.path.join(base_dir, name)))
        open_weights(absolute[-1])
    with module_op.context:
        module_op.attributes[ATTRIBUTE] = ir.ArrayAttr.get([ir.StringAttr.get(a) for a in absolute])


def lookup(module_op: ir.Operation, name: str) -> np.ndarray | None:
    """The weight `name` from the module's files or derived weights (the first that
    holds it), or None."""
    source = source_of(module_op, name)
    if isinstance(source, tuple):
        return open_weights(source[0]).array(name)
    return source


def source_of(module_op: ir.Operation, name: str) -> tuple[str, int, int] | np.ndarray | None:
    """Where weight `name` lives, as `lookup` finds it: (file path, offset, bytes) for a
    file, the array for a derived weight, None if nowhere."""
    for path in file_names(module_op):
        if path.startswith(DERIVED_PREFIX):
            store = _DERIVED.get(path[len(DERIVED_PREFIX):], {})
            if name in store:
                return store[name]
            continue
        weights = open_weights(path)
        if name in weights:
            return (path, *weights.extent(name))
    return None


ALIGNMENT = 64  # bytes: a cache line, one AVX-512 register


def aligned(array: np.ndarray) -> np.ndarray:
    """`array` contiguous and starting on a 64-byte boundary (a copy unless it is)."""
    array = np.asarray(array)
    if array.flags.c_contiguous and array.ctypes.data % ALIGNMENT == 0:
        return array
    raw = np.empty(array.nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    out = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def add_derived(module_op: ir.Operation, array: np.ndarray, taken) -> str:
    """Keep `array` among the module's derived weights; return its new name (one for
    which `taken(name)` is false)."""
    names = file_names(module_op)
    token = next((n for n in names if n.startswith(DERIVED_PREFIX)), None)
    if token is None:
        token = f"{DERIVED_PREFIX}{uuid.uuid4().hex}"
        _DERIVED[token[len(DERIVED_PREFIX):]] = {}
        with module_op.context:
            module_op.attributes[ATTRIBUTE] = ir.ArrayAttr.get(
                [ir.StringAttr.get(n) for n in names + [token]])
    store = _DERIVED[token[len(DERIVED_PREFIX):]]
    count = len(store)
    while taken(f"attn.derived.{count}") or f"attn.derived.{count}" in store:
        count += 1
    name = f"attn.derived.{count}"
    array = aligned(array)
    array.setflags(write=False)
    store[name] = array
    return name


def derived_names(module_op: ir.Operation) -> dict[str, np.ndarray]:
    """The module's derived weights, by name."""
    found = {}
    for path in file_names(module_op):
        if path.startswith(DERIVED_PREFIX):
            found.update(_DERIVED.get(path[len(DERIVED_PREFIX):], {}))
    return found


def keeps_weights_in_files(module_op: ir.Operation) -> bool:
    """Whether the module names weights files (new weights then go beside them)."""
    return bool(file_names(module_op))


def is_external(global_op: ir.Operation) -> bool:
    """Whether an `ml_program.global` has an `#ml_program.extern` value (supplied from a file)."""
    return ("value" in global_op.attributes
            and str(global_op.attributes["value"]).startswith("#ml_program.extern"))


def check_globals(module_op: ir.Operation) -> list[tuple[ir.Operation, str]]:
    """(op, message) for each external `ml_program.global` of the module that no weights
    file holds with its type."""
    problems = []
    files = file_names(module_op)
    for op in module_op.regions[0].blocks[0].operations:
        op = op.operation
        if op.name != "ml_program.global" or not is_external(op):
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        if "is_mutable" in op.attributes:
            problems.append((op, f"weight '{name}' is a mutable global: weights files hold "
                                 "constants only"))
            continue
        if not files:
            problems.append((op, f"weight '{name}' is external, but the module names no weights "
                                 f"file (module attribute '{ATTRIBUTE}')"))
            continue
        array = lookup(module_op, name)
        if array is None:
            problems.append((op, f"weight '{name}' is in none of the weights files "
                                 f"({', '.join(files)})"))
            continue
        tensor_type = ir.TypeAttr(op.attributes["type"]).value
        if str(tensor_type) != _tensor_type(array):
            problems.append((op, f"weight '{name}' is {array.dtype} "
                                 f"[{'x'.join(map(str, array.shape))}] in its file, but the "
                                 f"global's type is {tensor_type}"))
    return problems


_MLIR_ELEMENT = {
    np.dtype(np.float64): "f64", np.dtype(np.float32): "f32", np.dtype(np.float16): "f16",
    np.dtype(np.int64): "i64", np.dtype(np.int32): "i32", np.dtype(np.int16): "i16",
    np.dtype(np.int8): "i8", np.dtype(np.uint64): "ui64", np.dtype(np.uint32): "ui32",
    np.dtype(np.uint16): "ui16", np.dtype(np.uint8): "ui8", np.dtype(np.bool_): "i1",
}


def _tensor_type(array: np.ndarray) -> str | None:
    """The MLIR spelling of the tensor type of `array` (None for a dtype MLIR lacks)."""
    element = _MLIR_ELEMENT.get(array.dtype)
    if element is None:
        return None
    return "tensor<" + "".join(f"{d}x" for d in array.shape) + element + ">"


def write_derived(module_op: ir.Operation, path: str) -> int:
    """Write the module's derived weights to the safetensors file `path` and name that
    file in `attn.weights` instead of the in-memory store; returns how many were written.
    Refuses (WeightsError) a path that is one of the module's own weights files."""
    names = file_names(module_op)
    if not any(n.startswith(DERIVED_PREFIX) for n in names):
        return 0
    path = os.path.abspath(path)
    for other in names:
        if not other.startswith(DERIVED_PREFIX) and os.path.exists(other) and \
                os.path.exists(path) and os.path.samefile(other, path):
            raise WeightsError(f"the new weights would overwrite the weights file '{other}'")
    used = {ir.FlatSymbolRefAttr(op.attributes["global"]).value
            for op in walk_ops(module_op, "ml_program.global_load_const")}
    if LIFTED in module_op.attributes:  # lowered: the weights are arguments by now
        table = ir.DictAttr(module_op.attributes[LIFTED])
        used |= {ir.StringAttr(n).value for i in range(len(table)) for n in ir.ArrayAttr(table[i].attr)}
    derived = {n: a for n, a in derived_names(module_op).items() if n in used}
    write_safetensors(path, derived)
    kept = [n for n in names if not n.startswith(DERIVED_PREFIX)] + [path]
    with module_op.context:
        module_op.attributes[ATTRIBUTE] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in kept])
    return len(derived)


def _tokens(module_op: ir.Operation) -> list[str]:
    return [n[len(DERIVED_PREFIX):] for n in file_names(module_op) if n.startswith(DERIVED_PREFIX)]


def keep_only_derived(module_op: ir.Operation, loaded: set) -> None:
    """Forget the module's derived weights whose names are not in `loaded`."""
    for token in _tokens(module_op):
        store = _DERIVED.get(token, {})
        for name in [n for n in store if n not in loaded]:
            del store[name]


def fork_derived(module_op: ir.Operation) -> None:
    """Give a copy of a module a derived store of its own (the same arrays, not copied),
    so that what the copy's passes add or drop leaves the original's alone."""
    names = file_names(module_op)
    if not any(n.startswith(DERIVED_PREFIX) for n in names):
        return
    renamed = []
    for name in names:
        if name.startswith(DERIVED_PREFIX):
            token = uuid.uuid4().hex
            _DERIVED[token] = dict(_DERIVED.get(name[len(DERIVED_PREFIX):], {}))
            name = DERIVED_PREFIX + token
        renamed.append(name)
    with module_op.context:
        module_op.attributes[ATTRIBUTE] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in renamed])


def release_derived(module_op: ir.Operation) -> None:
    """Drop the module's derived store (its arrays live on where they are still held)."""
    for token in _tokens(module_op):
        _DERIVED.pop(token, None)

