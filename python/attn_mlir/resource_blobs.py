"""The bytes of a `dense_resource` attribute, read in place from MLIR's blob.

MLIR 22's Python bindings can create resource attributes but not read their
data, and the C API has no getter for it either. The C++ method
`DenseResourceElementsAttr::getData()` (an `ArrayRef<char>`: pointer and
length, returned in registers under the x86-64 System V ABI) is exported by
the bindings' own `libMLIRPythonCAPI.so`: calling it through ctypes gives a
view of the blob the parser filled, with no printing of the module and no hex.
The view lives as long as the attribute's context; callers copy what they keep.

Where that symbol is missing (another build of the bindings), `blob_view`
returns `UNAVAILABLE` and callers read the printed module instead
(constants.read_resource_blobs).
"""

from __future__ import annotations

import ctypes
import functools
import os

import numpy as np
from mlir import ir

UNAVAILABLE = object()
_GET_DATA = "_ZN4mlir25DenseResourceElementsAttr7getDataEv"


class _ArrayRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t)]


@functools.lru_cache(maxsize=None)
def _get_data():
    import mlir._mlir_libs as libs

    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(libs.__file__), "libMLIRPythonCAPI.so"))
        function = getattr(lib, _GET_DATA)
    except (OSError, AttributeError):
        return None
    function.restype = _ArrayRef
    function.argtypes = [ctypes.c_void_p]
    return function


# The attribute's MlirAttribute pointer, from the capsule the bindings hand out.
_CAPSULE_NAME = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
    ("PyCapsule_GetName", ctypes.pythonapi))
_CAPSULE_POINTER = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))


def _attribute_pointer(attr: ir.Attribute) -> int:
    capsule = attr._CAPIPtr
    return _CAPSULE_POINTER(capsule, _CAPSULE_NAME(capsule))


def blob_view(attr: ir.Attribute):
    """A read-only uint8 array over the blob of the `dense_resource` `attr` (without the
    alignment prefix), None when the resource has no blob, or `UNAVAILABLE`."""
    get_data = _get_data()
    if get_data is None:
        return UNAVAILABLE
    # `this` of the C++ call: a DenseResourceElementsAttr, one pointer to its storage.
    cell = ctypes.c_void_p(_attribute_pointer(attr))
    ref = get_data(ctypes.addressof(cell))
    if not ref.data:
        return None
    view = np.frombuffer((ctypes.c_uint8 * ref.size).from_address(ref.data), dtype=np.uint8)
    view.setflags(write=False)
    return view
