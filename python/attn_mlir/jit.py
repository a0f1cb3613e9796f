"""JIT compilation: a module in, a Python callable on numpy arrays out.

`compile(module_or_text, entry=...)` lowers a copy of the module with
`attn-to-llvm` (or a pipeline you give), JIT-compiles it with MLIR's
ExecutionEngine, and returns a `CompiledFunction`. Results are caller-owned
out-parameters (`buffer-results-to-out-params`), allocated here as numpy
arrays, so the compiled code never hands back memory that could leak.
Temporaries live in one workspace per compiled function, planned at compile
time (lowering/memory_plan.py): a call allocates nothing, and calls of one
`CompiledFunction` from several threads are serialised by a lock. Each engine
has its own workspace, so different ones run concurrently; functions that share
an engine (modules that differ only in their weights files, `with_weights`)
share its workspace and its lock.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import threading
import weakref
from dataclasses import dataclass
from operator import is_

import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine

from . import toolchain, weights
from .constants import externalize_constants, numpy_dtype
from .context import make_context
from .diagnostics import AttnError, Diagnostic, location_parts
from .ir_utils import functions, is_declaration, is_public, symbol_name, walk_ops
from .lowering.lift_weights import lifted_names
from .lowering.memory_plan import PREFIX as WORKSPACE_PREFIX
from .pipeline import as_pipeline, run_pipeline
from .source import parse_module

DEFAULT_PIPELINE = "builtin.module(attn-to-llvm)"
# Constant weights of at least this size are bound as arguments (constants.externalize_constants).
EXTERNAL_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class TensorSpec:
    """One argument or result: its shape (None for a dynamic dim) and numpy dtype."""

    shape: tuple
    dtype: np.dtype
    mlir_type: str

    def check(self, array: np.ndarray, what: str) -> None:
        if array.shape == self.shape and array.dtype == self.dtype:
            return  # the common case, checked first: calls are on the hot path
        if array.dtype != self.dtype:
            raise AttnError(f"{what}: expected dtype {self.dtype} ({self.mlir_type}), "
                            f"got {array.dtype}")
        if array.ndim != len(self.shape) or any(
                want is not None and want != got for want, got in zip(self.shape, array.shape)):
            want = "x".join("?" if d is None else str(d) for d in self.shape) or "scalar"
            raise AttnError(f"{what}: expected shape {want} ({self.mlir_type}), "
                            f"got {'x'.join(map(str, array.shape)) or 'scalar'}")


def _spec(t: ir.Type, what: str, func_op) -> TensorSpec:
    try:
        ranked = ir.RankedTensorType(t)
    except ValueError:
        raise _func_error(func_op, f"{what} has type {t}; only ranked tensors are supported "
                                   "at the JIT boundary") from None
    dtype = numpy_dtype(ranked.element_type)
    if dtype is None or dtype == np.bool_:
        raise _func_error(func_op, f"{what} has element type {ranked.element_type}, which the "
                                   "JIT boundary does not support")
    shape = tuple(None if ranked.is_dynamic_dim(i) else ranked.shape[i]
                  for i in range(ranked.rank))
    return TensorSpec(shape, np.dtype(dtype), str(t))


def _func_error(func_op, message: str) -> AttnError:
    file, line, col = location_parts(func_op.location)
    return AttnError([Diagnostic("error", message, file, line, col)])


def signature(func_op: ir.Operation) -> tuple[list[TensorSpec], list[TensorSpec]]:
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    name = symbol_name(func_op)
    args = [_spec(t, f"argument {i} of @{name}", func_op) for i, t in enumerate(ftype.inputs)]
    results = [_spec(t, f"result {i} of @{name}", func_op) for i, t in enumerate(ftype.results)]
    for i, r in enumerate(results):
        if None in r.shape:
            raise _func_error(func_op, f"result {i} of @{name} has a dynamic shape ({r.mlir_type}); "
                                       "the JIT needs static result shapes")
    return args, results


def find_entry(module: ir.Module, entry: str | None) -> ir.Operation:
    candidates = [f for f in functions(module.operation) if is_public(f) and not is_declaration(f)]
    if entry is not None:
        for f in candidates:
            if symbol_name(f) == entry:
                return f
        names = ", ".join("@" + symbol_name(f) for f in candidates) or "none"
        raise AttnError(f"no public function @{entry} in the module (public functions: {names})")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise AttnError("the module has no public function to run")
    names = ", ".join("@" + symbol_name(f) for f in candidates)
    raise AttnError(f"the module has several public functions ({names}); choose one with entry=")


def _address(array: np.ndarray) -> int:
    """The data pointer of `array` (the ctypes buffer route is ~4x faster than .ctypes.data)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError):  # read-only or empty arrays
        return array.ctypes.data


class _CallFrame:
    """The memref descriptors of a function's calls, laid out once in one int64 buffer.

    A ranked memref descriptor is `{allocated, aligned, offset, shape[r],
    strides[r]}`, all 64-bit on x86-64. The buffer holds every argument's and
    result's descriptor, then the array of pointers to them (the C interface
    takes descriptors by pointer), then the packed argument array that the
    ExecutionEngine's wrapper reads. Static shapes and strides and every
    pointer between these parts are written once here (the buffer never
    moves); a call only writes data pointers (and dynamic dims), two words per
    array, through a ctypes view of the same memory.
    """

    def __init__(self, specs: list[TensorSpec]):
        self.count = len(specs)
        offsets, words = [], 0
        for spec in specs:
            offsets.append(words)
            words += 3 + 2 * len(spec.shape)
        pointers_at = words
        packed_at = words + self.count
        self.words = np.zeros(words + 2 * self.count, np.int64)
        self.dynamic = {}
        for i, (spec, at) in enumerate(zip(specs, offsets)):
            rank = len(spec.shape)
            if None in spec.shape:
                self.dynamic[i] = (at, rank)
                continue
            shape = np.array(spec.shape, np.int64)
            strides = np.ones(rank, np.int64)
            if rank:
                strides[:-1] = np.cumprod(shape[::-1])[:-1][::-1]
            self.words[at + 3:at + 3 + rank] = shape
            self.words[at + 3 + rank:at + 3 + 2 * rank] = strides
        base = _address(self.words)
        at = np.array(offsets, np.int64)
        self.words[pointers_at:packed_at] = base + at * 8
        self.words[packed_at:] = base + (pointers_at + np.arange(self.count, dtype=np.int64)) * 8
        self.slots = (ctypes.c_int64 * len(self.words)).from_buffer(self.words)
        self.data_at = offsets
        self.packed_address = base + packed_at * 8

    def bind(self, i: int, array: np.ndarray) -> None:
        """Point descriptor `i` at `array` (C-contiguous, of the spec's type)."""
        address = _address(array)
        at = self.data_at[i]
        self.slots[at] = address
        self.slots[at + 1] = address
        if i in self.dynamic:
            _, rank = self.dynamic[i]
            for d in range(rank):
                self.slots[at + 3 + d] = array.shape[d]
                self.slots[at + 3 + rank + d] = array.strides[d] // array.itemsize


class CompiledFunction:
    """A JIT-compiled function: call it with numpy arrays, get numpy arrays back.

    `fn(*arrays)` returns new result arrays; `fn(*arrays, out=array)` (a tuple
    for several results) writes into caller-owned, C-contiguous arrays of the
    result types and returns them. Calling again with the very same array
    objects skips their checks and conversions (their data pointers cannot
    change while this function holds them).
    """

    def __init__(self, shared: "_SharedEngine", name: str, args: list[TensorSpec],
                 results: list[TensorSpec], llvm_module: ir.Module,
                 weights: list[np.ndarray] = (), weight_names: list[str] = (),
                 derived: frozenset = frozenset()):
        self._shared = shared  # the engine (its workspace) and the lock its calls take
        self.engine, self.name = shared.engine, name
        self.arg_specs, self.result_specs = args, results
        self.llvm_module = llvm_module
        address = self.engine.raw_lookup("_mlir_ciface_" + name)
        if not address:
            raise AttnError(f"compiled module has no C interface for @{name}")
        self._fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)
        # Weights held in files (lowering/lift_weights.py) are trailing arguments, bound
        # here once to the mapped memory; the caller's arguments come before them and the
        # results after.
        self.weights = list(weights)
        self.weight_names = list(weight_names)  # the bound weights' names, in argument order
        self._derived = derived  # those the compiler computed (fused, packed), not read from files
        weight_specs = [TensorSpec(w.shape, w.dtype, str(w.dtype)) for w in self.weights]
        self._frame = _CallFrame(args + weight_specs + results)
        for i, w in enumerate(self.weights):
            self._frame.bind(len(args) + i, w)
        self._first_result = len(args) + len(self.weights)
        # The workspace and the frame are shared by the calls of this function (and the
        # workspace by every function that shares its engine): one call at a time.
        self._lock = shared.lock
        self._inputs: tuple = ()        # the argument objects bound last, as the caller passed them
        self._kept: list = []           # the arrays whose memory they point at (converted copies)
        self._outputs: tuple = ()       # the `out=` arrays bound last
        self._checked: tuple = ((), ())  # arguments and out= arrays last found disjoint
        self.workspace_bytes = workspace_bytes(llvm_module)
        self._last_out = None  # the out= object of the last call, bound and checked
        # One static result: (shape, dtype, its descriptor's first word) for __call__.
        self._single = None
        if len(results) == 1 and None not in results[0].shape:
            self._single = (results[0].shape, results[0].dtype, self._frame.data_at[self._first_result])

    def with_weights(self, paths) -> "CompiledFunction":
        """This function's machine code, bound to the same-named weights of other files
        (safetensors or `.npz`, relative to the working folder): one compiled decoder
        layer serves every layer of a model. The weights must match in shape and dtype.

        Only weights read from files can be swapped. A function bound to weights the
        compiler derived from them (fused projections, weights packed at compile time)
        was specialised on their values: parse the module with
        `parse_module(..., weights_files=...)` and compile it again instead, or lift
        the weights to arguments before any pass reads them (a pipeline that starts
        with `attn-lift-weights`)."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if derived := [n for n in self.weight_names if n in self._derived]:
            raise AttnError(f"@{self.name} is bound to weights the compiler derived from its "
                            f"weights files ({', '.join(derived[:3])}{', ...' if len(derived) > 3 else ''}); "
                            "they cannot be swapped: compile the module against the other files")
        try:
            files = [weights.open_weights(os.path.abspath(os.fspath(p))) for p in paths]
        except weights.WeightsError as e:
            raise AttnError(str(e)) from None
        arrays = []
        for name, old in zip(self.weight_names, self.weights):
            holder = next((f for f in files if name in f), None)
            if holder is None:
                raise AttnError(f"weight '{name}' of @{self.name} is in none of "
                                f"{', '.join(os.fspath(p) for p in paths)}")
            array = holder.array(name)
            if array.shape != old.shape or array.dtype != old.dtype:
                raise AttnError(f"weight '{name}' of @{self.name} is {array.dtype}"
                                f"{list(array.shape)} in {holder.path}, the function takes "
                                f"{old.dtype}{list(old.shape)}")
            arrays.append(array)
        return CompiledFunction(self._shared, self.name, self.arg_specs, self.result_specs,
                                self.llvm_module, arrays, self.weight_names, self._derived)

    def _bind_inputs(self, arrays: tuple) -> None:
        if len(arrays) != len(self.arg_specs):
            raise AttnError(f"@{self.name} takes {len(self.arg_specs)} arguments, "
                            f"got {len(arrays)}")
        self._inputs = ()  # the frame is being rewritten: nothing bound is reusable
        kept = []
        for i, (array, spec) in enumerate(zip(arrays, self.arg_specs)):
            array = np.asarray(array)
            spec.check(array, f"argument {i} of @{self.name}")
            array = np.ascontiguousarray(array)
            self._frame.bind(i, array)
            kept.append(array)
        self._kept = kept
        # A converted copy would go stale if the caller changed the original: rebind next time.
        if all(k is a for k, a in zip(kept, arrays)):
            self._inputs = arrays

    def _bind_outputs(self, out) -> tuple:
        if out is None:
            outputs = tuple(np.empty(r.shape, r.dtype) for r in self.result_specs)
        else:
            outputs = out if isinstance(out, tuple) else (out,)
            if _same(outputs, self._outputs):
                return outputs
            if len(outputs) != len(self.result_specs):
                raise AttnError(f"@{self.name} has {len(self.result_specs)} results, "
                                f"out= gave {len(outputs)} arrays")
            for i, (array, spec) in enumerate(zip(outputs, self.result_specs)):
                if not isinstance(array, np.ndarray) or not array.flags.c_contiguous \
                        or not array.flags.writeable:
                    raise AttnError(f"out= array {i} of @{self.name} must be a writeable, "
                                    "C-contiguous numpy array")
                spec.check(array, f"out= array {i} of @{self.name}")
        self._outputs = ()
        first = self._first_result
        for i, array in enumerate(outputs):
            self._frame.bind(first + i, array)
        self._outputs = outputs if out is not None else ()
        return outputs

    def _check_disjoint(self, arrays: tuple, outputs: tuple) -> None:
        """out= arrays must not overlap the arguments or each other: results are
        written while arguments are still read (a result may be computed in place)."""
        if _same(arrays, self._checked[0]) and _same(outputs, self._checked[1]):
            return
        for i, result in enumerate(outputs):
            for j, argument in enumerate(self._kept):
                if np.may_share_memory(result, argument):
                    raise AttnError(f"out= array {i} of @{self.name} overlaps argument {j}: "
                                    "results are written while the arguments are read")
            for k in range(i):
                if np.may_share_memory(result, outputs[k]):
                    raise AttnError(f"out= arrays {k} and {i} of @{self.name} overlap")
        self._checked = (arrays, outputs)

    def __call__(self, *arrays, out=None):
        with self._lock:
            if not _same(arrays, self._inputs):
                self._bind_inputs(arrays)
                self._last_out = None
            elif out is not None and out is self._last_out:
                # The same arguments and out= object as the last checked call: nothing to bind.
                self._fn(self._frame.packed_address)
                return out[0] if isinstance(out, tuple) and len(out) == 1 else out
            if out is None and self._single is not None:
                # The common call, inlined: one fresh result array, bound by its address.
                shape, dtype, slot = self._single
                result = np.empty(shape, dtype)
                address = _address(result)
                slots = self._frame.slots
                slots[slot] = address
                slots[slot + 1] = address
                self._outputs = ()
                self._last_out = None
                self._fn(self._frame.packed_address)
                return result
            outputs = self._bind_outputs(out)
            if out is not None:
                self._check_disjoint(arrays, outputs)
            # Only an out= object whose arrays are all bound, checked and still held by
            # the caller's object can skip those steps next time (not a list that may change).
            self._last_out = out if isinstance(out, (np.ndarray, tuple)) and self._inputs else None
            self._fn(self._frame.packed_address)
        if len(outputs) == 1:
            return outputs[0]
        return outputs


def workspace_bytes(llvm_module: ir.Module) -> int:
    """Bytes of the workspaces (lowering/memory_plan.py) in a lowered module."""
    total = 0
    for op in walk_ops(llvm_module.operation, "llvm.mlir.global"):
        if not symbol_name(op).startswith(WORKSPACE_PREFIX):
            continue
        match = re.search(r"!llvm\.array<(\d+) x i8>", str(op.attributes["global_type"]))
        if match:
            total += int(match.group(1))
    return total


def _same(a: tuple, b: tuple) -> bool:
    """Whether two tuples hold the very same objects (in C: no Python loop)."""
    return len(a) == len(b) and all(map(is_, a, b))


# Dialects that translate to LLVM IR as they are.
_TRANSLATABLE = ("llvm.", "builtin.", "omp.")


def check_lowered(module: ir.Module, limit: int = 5) -> None:
    """Raise with one located error per op kind the pipeline left outside the LLVM dialect."""
    seen: dict[str, ir.Operation] = {}
    for op in walk_ops(module.operation):
        if not op.name.startswith(_TRANSLATABLE) and op.name not in seen:
            seen[op.name] = op
    if not seen:
        return
    diags = []
    for name, op in list(seen.items())[:limit]:
        file, line, col = location_parts(op.location)
        diags.append(Diagnostic("error", f"'{name}' was not lowered to the LLVM dialect by the "
                                         "pipeline; the JIT cannot compile it", file, line, col))
    if len(seen) > limit:
        diags.append(Diagnostic("error", f"... and {len(seen) - limit} more op kinds"))
    raise AttnError(diags)


def _execution_engine(module: ir.Module, opt_level: int) -> ExecutionEngine:
    """ExecutionEngine, with MLIR's diagnostics collected into an AttnError on failure."""
    collected: list[Diagnostic] = []

    def handler(diag) -> bool:
        file, line, col = location_parts(diag.location)
        collected.append(Diagnostic("error", str(diag.message), file, line, col))
        return True  # handled: keep MLIR from printing it in its own format

    handle = module.context.attach_diagnostic_handler(handler)
    try:
        return ExecutionEngine(module, opt_level=opt_level, shared_libs=shared_libraries())
    except Exception as e:  # translation to LLVM IR failed
        collected.append(Diagnostic("error", f"JIT compilation failed: {str(e).strip()}"))
        raise AttnError(collected) from None
    finally:
        handle.detach()


def _keep_only(module: ir.Module, entry_op: ir.Operation) -> None:
    """Drop the functions the entry does not call: only the entry has to compile."""
    for f in functions(module.operation):
        if f != entry_op and not is_declaration(f):
            f.attributes["sym_visibility"] = ir.StringAttr.get("private")
    run_pipeline(module, "builtin.module(symbol-dce)")


def shared_libraries() -> list[str]:
    libs = [str(toolchain.runtime_library("libmlir_c_runner_utils.so"))]
    omp = toolchain.openmp_library()
    if omp is not None:
        libs.append(str(omp))
    return libs


def compile(module, entry: str | None = None, pipeline=DEFAULT_PIPELINE,
            opt_level: int = 3) -> CompiledFunction:
    """JIT-compile `module` (an ir.Module or MLIR text) and return its entry function.

    A module is copied first: the caller's IR is left as it was (text is parsed
    into a module of the compiled function's own).

    Machine code is shared between compiled functions whose lowered modules are
    the same but for their weights files (`_shared_engine`): every layer of a
    model parsed from one layer's module with another layer's weights
    (`parse_module(..., weights_files=...)`) compiles through LLVM once.
    """
    compiled = _compile(module, entry, pipeline, opt_level)
    # What the compilation freed (the parsed constants of text compiled here) goes
    # back to the system instead of staying in malloc's free lists.
    _trim_heap()
    return compiled


def _trim_heap() -> None:
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def _copy(module: ir.Module, context: ir.Context | None = None) -> ir.Module:
    """`module` printed and parsed again (into `context`, else the current one)."""
    return ir.Module.parse(module.operation.get_asm(print_generic_op_form=True,
                                                    enable_debug_info=True), context=context)


def _compile(module, entry, pipeline, opt_level) -> "CompiledFunction":
    owned = isinstance(module, str)
    if owned:
        context = make_context()
        with context:
            module = parse_module(module, "<string>")
    context = module.context
    with context, ir.Location.unknown():
        if not owned:  # (text parsed here is nobody else's: no copy of its weights)
            module = _copy(module)
        weights.fork_derived(module.operation)  # the lowering's new weights stay its own
        func_op = find_entry(module, entry)
        name = symbol_name(func_op)
        args, results = signature(func_op)
        # Weights an earlier `attn-lift-weights` made arguments are bound here, not passed.
        args = args[:len(args) - len(lifted_names(module.operation, name))]
        _keep_only(module, func_op)
        pipeline = as_pipeline(pipeline)
        if pipeline.runs("attn-lift-weights"):  # (attn-to-llvm runs it)
            # Big constant weights are bound like file-held ones.
            externalize_constants(func_op, EXTERNAL_MIN_BYTES)
        run_pipeline(module, pipeline)
        check_lowered(module)
        names = lifted_names(module.operation, name)
        bound = _lifted_weights(module, name, names)
        derived = frozenset(names) & frozenset(weights.derived_names(module.operation))
        weights.release_derived(module.operation)  # `bound` holds what the function reads
        if owned:
            # The lowered module in a context of its own: the one the text was parsed
            # in (every constant it held) is freed with this frame.
            module = _copy(module, make_context())
    return CompiledFunction(_shared_engine(module, opt_level), name, args, results, module,
                            bound, names, derived)


class _SharedEngine:
    """An ExecutionEngine and the lock its calls take (its workspace is one global)."""

    __slots__ = ("engine", "lock", "__weakref__")

    def __init__(self, engine: ExecutionEngine):
        self.engine, self.lock = engine, threading.Lock()


# Lowered module text (weights files left out) -> its engine, while a function uses it.
_ENGINES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_ENGINES_LOCK = threading.Lock()


def _shared_engine(module: ir.Module, opt_level: int) -> _SharedEngine:
    """The engine of an earlier compiled module that lowered to the same code, or a
    new one. Weights are arguments bound per function (`attn-lift-weights`), so two
    modules that differ only in their weights files run the same machine code. A
    module without weights files gets its own engine (it has nothing to swap, and
    printing it to compare would print every constant it holds)."""
    op = module.operation
    if weights.ATTRIBUTE not in op.attributes:
        return _SharedEngine(_execution_engine(module, opt_level))
    files = op.attributes[weights.ATTRIBUTE]
    del op.attributes[weights.ATTRIBUTE]
    try:
        text = op.get_asm(print_generic_op_form=True)
    finally:
        op.attributes[weights.ATTRIBUTE] = files
    key = hashlib.sha256(f"{opt_level}\n{text}".encode()).hexdigest()
    with _ENGINES_LOCK:
        shared = _ENGINES.get(key)
        if shared is None:
            shared = _SharedEngine(_execution_engine(module, opt_level))
            _ENGINES[key] = shared
    return shared


def _lifted_weights(module: ir.Module, name: str, names: list[str]) -> list[np.ndarray]:
    """The mapped arrays of the weights `names` that `attn-lift-weights` made arguments
    of @name."""
    arrays = []
    for weight in names:
        array = weights.lookup(module.operation, weight)
        if array is None:  # the file changed between lowering and binding
            raise AttnError(f"weight '{weight}' of @{name} is no longer in the module's weights files")
        arrays.append(array)
    return arrays
