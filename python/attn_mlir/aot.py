"""Ahead-of-time compilation: a module in, a shared library and its C header out.

`compile_library(module, "build/libhead.so")` lowers a copy of the module
with the JIT's lowering (`attn-to-llvm`), translates it to LLVM IR
(`mlir-translate --mlir-to-llvmir`), optimises and emits an object with the
pinned wheel's `opt -O3` and `llc` (the same optimisation level as the JIT),
and links it with the system C compiler (`cc -shared`) together with a small
C wrapper per entry.

The wrapper is what the header declares: one C function per public entry,
plain element pointers in (row-major, contiguous, read-only), caller-owned
output buffers after them, no return value. It builds MLIR's ranked memref
descriptors (`{allocated, aligned, offset, sizes[r], strides[r]}`) on the
stack and calls the entry's `_mlir_ciface_` wrapper, whose results are
out-parameters (`buffer-results-to-out-params` in `attn-to-llvm`). A version
script exports only those C functions.

Constants (weights, RoPE tables) are LLVM `constant` globals: the library's
read-only data. Weights the module holds in weights files (weights.py) stay
out of the IR: `attn-lift-weights` makes them arguments of the kernels, an
assembler file puts their bytes into the library's read-only data with
`.incbin "FILE", OFFSET, BYTES` straight from the weights file (no hex, no
LLVM IR; weights the compiler derived are written to one binary file first),
and the wrapper passes them to the kernels. The library needs libc, libm and, when built with more than
one thread, the OpenMP runtime: `libiomp5.so` is copied next to it and found
through `RUNPATH=$ORIGIN`, so the two files can be shipped together.
`threads=1` emits no OpenMP at all. A process must not run two copies of the
runtime: a threaded library and the JIT (which loads the wheel's libiomp5.so)
in one Python process abort with "OMP: Error #15".
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlir import ir

from . import toolchain, weights
from .context import make_context
from .diagnostics import AttnError
from .ir_utils import functions, is_declaration, is_public, symbol_name
from .jit import TensorSpec, check_lowered, find_entry, signature
from .lowering.lift_weights import lifted_names
from .pipeline import Pipeline, run_pipeline
from .source import parse_module

# The entry's MLIR function is renamed so that its C name is free for the wrapper.
IMPL_PREFIX = "__attn_impl_"

_C_TYPES = {
    np.dtype(np.float32): "float", np.dtype(np.float64): "double",
    np.dtype(np.float16): "uint16_t",  # IEEE half bits
    np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t",
    np.dtype(np.uint8): "uint8_t", np.dtype(np.uint16): "uint16_t",
    np.dtype(np.uint32): "uint32_t", np.dtype(np.uint64): "uint64_t",
}

_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Entry:
    """One exported C function: its name and the tensors it takes and writes."""

    name: str
    args: list
    results: list
    weights: list = ()  # (symbol, TensorSpec) of the lifted weights, bound by the wrapper


@dataclass(frozen=True)
class Library:
    """What `compile_library` wrote."""

    library: Path
    header: Path
    entries: list
    openmp: Path | None  # the copied libiomp5.so, None when single-threaded


def library_stem(output: Path) -> str:
    """`build/libhead.so` -> `head`: the header's name and the `-l` name."""
    name = output.name
    if name.endswith(".so"):
        name = name[:-3]
    if name.startswith("lib") and len(name) > 3:
        name = name[3:]
    return name


def _c_type(spec: TensorSpec, what: str) -> str:
    c = _C_TYPES.get(spec.dtype)
    if c is None:
        raise AttnError(f"{what} has element type {spec.mlir_type}, which has no C type here")
    return c


def _public_entries(module: ir.Module, entry: str | None) -> list:
    if entry is not None:
        return [find_entry(module, entry)]
    found = [f for f in functions(module.operation) if is_public(f) and not is_declaration(f)]
    if not found:
        raise AttnError("the module has no public function to compile")
    return found


def _describe(func_op) -> Entry:
    name = symbol_name(func_op)
    if not _C_IDENTIFIER.match(name):
        raise AttnError(f"@{name} is not a C identifier; rename it or choose another --entry")
    args, results = signature(func_op)
    for i, spec in enumerate(args):
        if None in spec.shape:
            raise AttnError(f"argument {i} of @{name} has a dynamic shape ({spec.mlir_type}); "
                            "the shared library needs static shapes")
        _c_type(spec, f"argument {i} of @{name}")
    for i, spec in enumerate(results):
        _c_type(spec, f"result {i} of @{name}")
    return Entry(name, args, results)


def _shape_text(spec: TensorSpec) -> str:
    return "".join(f"[{d}]" for d in spec.shape) or " (scalar)"


def _descriptor(spec: TensorSpec, variable: str, pointer: str) -> str:
    """A C initialiser for the ranked memref descriptor of a contiguous row-major buffer."""
    rank = len(spec.shape)
    strides = [int(np.prod(spec.shape[i + 1:], dtype=np.int64)) for i in range(rank)]
    fields = [f"(void *){pointer}", f"(void *){pointer}", "0"]
    if rank:
        fields.append("{" + ", ".join(str(d) for d in spec.shape) + "}")
        fields.append("{" + ", ".join(str(s) for s in strides) + "}")
    struct = (f"struct {{ void *allocated; void *aligned; int64_t offset;"
              + (f" int64_t sizes[{rank}]; int64_t strides[{rank}];" if rank else "") + " }")
    return f"  {struct} {variable} = {{{', '.join(fields)}}};\n"


def _parameters(entry: Entry) -> list[str]:
    params = [f"const {_c_type(s, '')} *arg{i}" for i, s in enumerate(entry.args)]
    params += [f"{_c_type(s, '')} *result{i}" for i, s in enumerate(entry.results)]
    return params or ["void"]


def wrapper_source(entries: list) -> str:
    """The C functions the library exports: descriptors around plain pointers."""
    out = ["/* Generated by attn-compile: plain pointers in, MLIR memref descriptors out. */\n",
           "#include <stdint.h>\n\n"]
    symbols = sorted({symbol for e in entries for symbol, _ in e.weights})
    for symbol in symbols:  # weights.s: the weights' bytes in read-only data
        out.append(f'__attribute__((visibility("hidden"))) extern const unsigned char {symbol}[];\n')
    if symbols:
        out.append("\n")
    for e in entries:
        operands = [(s, f"arg{i}") for i, s in enumerate(e.args)]
        operands += [(s, symbol) for symbol, s in e.weights]
        operands += [(s, f"result{i}") for i, s in enumerate(e.results)]
        decls = ", ".join("void *" for _ in operands) or "void"
        out.append(f"void _mlir_ciface_{IMPL_PREFIX}{e.name}({decls});\n\n")
        out.append(f"void {e.name}({', '.join(_parameters(e))}) {{\n")
        for spec, var in operands:
            out.append(_descriptor(spec, "d_" + var, var))
        call = ", ".join("&d_" + var for _, var in operands)
        out.append(f"  _mlir_ciface_{IMPL_PREFIX}{e.name}({call});\n}}\n\n")
    return "".join(out)


def header_source(entries: list, stem: str, source: str, openmp: bool) -> str:
    guard = re.sub(r"[^A-Za-z0-9]", "_", stem).upper() + "_H"
    runtime = ("OpenMP; needs libc, libm and libiomp5.so, which is copied next to the "
               "library and found through its RUNPATH ($ORIGIN)" if openmp
               else "single-threaded; needs only libc and libm")
    lines = [f"/* lib{stem}.so: generated by attn-compile from {source}. Do not edit.",
             f" * Runtime: {runtime}.",
             f" * Link: cc main.c -I DIR -L DIR -l{stem} -Wl,-rpath,DIR",
             " * Every buffer is contiguous and row-major; inputs are only read; results are",
             " * written into buffers the caller allocates. Buffers must not overlap.",
             " */",
             f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>", "",
             "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    for e in entries:
        lines.append(f"/* @{e.name}")
        for i, s in enumerate(e.args):
            lines.append(f" *   arg{i}: {_c_type(s, '')}{_shape_text(s)}  ({s.mlir_type}), input")
        for i, s in enumerate(e.results):
            lines.append(f" *   result{i}: {_c_type(s, '')}{_shape_text(s)}  ({s.mlir_type}), "
                         "output, caller-allocated")
        lines.append(" */")
        for i, s in enumerate(e.args):
            lines.append(f"#define {e.name.upper()}_ARG{i}_ELEMENTS {int(np.prod(s.shape))}")
        for i, s in enumerate(e.results):
            lines.append(f"#define {e.name.upper()}_RESULT{i}_ELEMENTS {int(np.prod(s.shape))}")
        lines.append(f"void {e.name}({', '.join(_parameters(e))});")
        lines.append("")
    lines += ["#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _run(command: list, what: str) -> None:
    try:
        done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    except FileNotFoundError:
        raise AttnError(f"{what}: '{command[0]}' not found") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        tail = "; ".join(detail[-3:]) if detail else f"exit code {done.returncode}"
        raise AttnError(f"{what} failed: {tail}")


@functools.lru_cache(maxsize=None)
def host_triple() -> str:
    """The host's target triple, as the pinned LLVM names it (`llvm-config --host-target`)."""
    try:
        done = subprocess.run([str(toolchain.llvm_tool("llvm-config")), "--host-target"],
                              capture_output=True, text=True)
    except FileNotFoundError:
        raise AttnError("llvm-config not found: cannot name the host's target triple") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise AttnError("llvm-config --host-target failed: cannot name the host's target triple")
    return done.stdout.strip()


def _target_flags(target_triple: str | None, target_cpu: str | None) -> list[str]:
    # Without a triple the host is the target: its triple, CPU and features, as the JIT
    # uses. The triple is always given: the lowered module names none, and without one
    # `opt` knows no C library, so it expands every memcpy into a byte-by-byte loop.
    cpu = target_cpu or (None if target_triple else "native")
    return [f"-mtriple={target_triple or host_triple()}"] + ([f"-mcpu={cpu}"] if cpu else [])


def emit_object(llvm_dialect: str, object_path: Path, work: Path, target_triple: str | None = None,
                target_cpu: str | None = None, opt_level: int = 3) -> None:
    """LLVM-dialect MLIR text -> an ELF object (position-independent)."""
    mlir_file, ll_file, bc_file = work / "lowered.mlir", work / "lowered.ll", work / "lowered.bc"
    mlir_file.write_text(llvm_dialect)
    _run([toolchain.mlir_tool("mlir-translate"), "--mlir-to-llvmir", mlir_file, "-o", ll_file],
         "mlir-translate --mlir-to-llvmir")
    target = _target_flags(target_triple, target_cpu)
    _run([toolchain.llvm_tool("opt"), f"-O{opt_level}", *target, ll_file, "-o", bc_file], "opt")
    _run([toolchain.llvm_tool("llc"), f"-O{opt_level}", *target, "-filetype=obj",
          "-relocation-model=pic", bc_file, "-o", object_path], "llc")


def uses_openmp(object_path: Path) -> bool:
    """Whether the object calls the OpenMP runtime (small kernels may have no parallel region)."""
    done = subprocess.run([str(toolchain.llvm_tool("llvm-nm")), "--undefined-only", "-j",
                           str(object_path)], capture_output=True, text=True, check=True)
    return any(s.startswith(("__kmpc_", "omp_")) for s in done.stdout.split())


def _lower(module: ir.Module, entries_ops: list, lowering: str) -> str:
    for f in functions(module.operation):
        if f not in entries_ops and not is_declaration(f):
            f.attributes["sym_visibility"] = ir.StringAttr.get("private")
    for f in entries_ops:
        f.attributes["sym_name"] = ir.StringAttr.get(IMPL_PREFIX + symbol_name(f))
    run_pipeline(module, "builtin.module(symbol-dce)")
    run_pipeline(module, lowering)
    check_lowered(module)
    return module.operation.get_asm(enable_debug_info=False)


def _bind_weights(module: ir.Module, entries: list) -> tuple[list, dict]:
    """The entries with the weights `attn-lift-weights` made trailing arguments of their
    kernels, and each weight's symbol -> where its bytes are (`weights.source_of`)."""
    symbols: dict[str, str] = {}
    sources: dict = {}
    bound = []
    for e in entries:
        names = lifted_names(module.operation, IMPL_PREFIX + e.name)
        specs = []
        for name in names:
            source = weights.source_of(module.operation, name)
            if source is None:
                raise AttnError(f"weight '{name}' of @{e.name} is in none of the module's "
                                "weights files")
            if name not in symbols:
                symbols[name] = f"attn_weight_{len(symbols)}"
                sources[symbols[name]] = source
            array = (source if isinstance(source, np.ndarray)
                     else weights.open_weights(source[0]).array(name))  # a view, for its spec
            specs.append((symbols[name], TensorSpec(array.shape, array.dtype, str(array.dtype))))
        bound.append(Entry(e.name, e.args, e.results, specs))
    return bound, sources


def _assembly_string(path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def weights_assembly(sources: dict, derived_path: Path) -> str:
    """GNU assembler text putting each weight's bytes into read-only data, 64-byte
    aligned: `.incbin` of its extent in its weights file, or of `derived_path`, where
    the derived weights (arrays) are written one after another."""
    lines = ['\t.section .rodata.attn_weights,"a"']
    with open(derived_path, "wb") as derived:
        for symbol, source in sources.items():
            if isinstance(source, np.ndarray):
                derived.write(b"\0" * (-derived.tell() % 64))
                path, offset, nbytes = derived_path, derived.tell(), source.nbytes
                derived.write(np.ascontiguousarray(source).tobytes())
            else:
                path, offset, nbytes = source
            lines += ["\t.balign 64", f"\t.globl {symbol}", f"\t.hidden {symbol}",
                      f"\t.type {symbol}, @object", f"\t.size {symbol}, {nbytes}", f"{symbol}:",
                      f"\t.incbin {_assembly_string(path)}, {offset}, {nbytes}"]
    lines.append('\t.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


def compile_library(module, output, entry: str | None = None, pipeline=None, threads: int = 0,
                    target_triple: str | None = None, target_cpu: str | None = None,
                    cc: str | None = None, source: str = "<module>") -> Library:
    """Write `output` (libNAME.so) and NAME.h next to it; return their paths.

    `pipeline` runs before the lowering (e.g. "builtin.module(attn-optimize)");
    `threads` is baked in (0: this machine's cores, 1: no OpenMP). The caller's
    module is left as it was.
    """
    output = Path(output)
    if threads < 0:
        raise AttnError(f"threads must be >= 0, got {threads}", usage=True)
    threads = threads or toolchain.cpu_count()
    stem = library_stem(output)
    if not _C_IDENTIFIER.match(stem):
        raise AttnError(f"'{output.name}': the library name must be libNAME.so with NAME a C "
                        "identifier (it names the header)", usage=True)
    if isinstance(module, str):
        with make_context():
            module = parse_module(module, source)
    with module.context, ir.Location.unknown():
        module = ir.Module.parse(module.operation.get_asm(print_generic_op_form=True,
                                                          enable_debug_info=True))
        weights.fork_derived(module.operation)
        if pipeline:  # first: its diagnostics name the functions as written
            run_pipeline(module, Pipeline.parse(pipeline) if isinstance(pipeline, str) else pipeline)
        entry_ops = _public_entries(module, entry)
        entries = [_describe(f) for f in entry_ops]
        lowering = f"builtin.module(attn-to-llvm{{threads={threads}}})"
        llvm_dialect = _lower(module, entry_ops, lowering)
        entries, sources = _bind_weights(module, entries)
        weights.release_derived(module.operation)

    output.parent.mkdir(parents=True, exist_ok=True)
    header = output.with_name(stem + ".h")
    with tempfile.TemporaryDirectory(prefix="attn-compile-") as tmp:
        work = Path(tmp)
        emit_object(llvm_dialect, work / "kernels.o", work, target_triple, target_cpu)
        (work / "wrapper.c").write_text(wrapper_source(entries))
        inputs = [work / "wrapper.c", work / "kernels.o"]
        if sources:
            (work / "weights.s").write_text(weights_assembly(sources, work / "derived.bin"))
            inputs.append(work / "weights.s")
        (work / "exports.map").write_text(
            "{\n  global:\n" + "".join(f"    {e.name};\n" for e in entries) + "  local: *;\n};\n")
        link = [cc or os.environ.get("CC") or "cc", "-shared", "-fPIC", "-O2",
                *inputs, "-o", work / output.name,
                f"-Wl,--version-script={work / 'exports.map'}", "-Wl,-z,noexecstack"]
        runtime = None
        if uses_openmp(work / "kernels.o"):
            runtime = toolchain.openmp_library()
            if runtime is None:
                raise AttnError("the OpenMP runtime (libiomp5.so, from intel-openmp) is not "
                                "installed; install it or compile with --threads 1")
            link += [runtime, "-Wl,-rpath,$ORIGIN"]  # DT_NEEDED is its soname, libiomp5.so
        link += ["-lm"]
        _run(link, "linking the shared library")
        shutil.move(str(work / output.name), str(output))
    openmp = None
    if runtime is not None:
        openmp = output.parent / runtime.name
        if not (openmp.exists() and os.path.samefile(openmp, runtime)):
            shutil.copy2(runtime, openmp)
    header.write_text(header_source(entries, stem, source, openmp is not None))
    return Library(output, header, entries, openmp)
