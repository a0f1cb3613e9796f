"""Calling a shared library from attn-compile in a child process (tests).

A threaded library loads its own copy of libiomp5.so, and two OpenMP runtimes
in one process (a test process also runs the JIT's) abort: the call runs in a
child Python, with float32 arguments and results passed through an `.npz`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

_CALL = """
import ctypes, sys
import numpy as np
lib, entry, data, out = sys.argv[1:5]
arrays = dict(np.load(data))
args = [arrays[f"arg{i}"] for i in range(len([k for k in arrays if k.startswith("arg")]))]
results = [np.full(arrays[k].shape, np.nan, np.float32) for k in sorted(arrays) if k.startswith("shape")]
getattr(ctypes.CDLL(lib), entry)(*[a.ctypes.data_as(ctypes.c_void_p) for a in args + results])
np.savez(out, *results)
"""


def call_library(work: Path, lib, entry: str, args, result_shapes) -> list[np.ndarray]:
    """Call `entry` of `lib` on float32 `args` in a child process; its float32 results.
    Raises AssertionError with the child's stderr when it fails."""
    arrays = {f"arg{i}": np.ascontiguousarray(a, np.float32) for i, a in enumerate(args)}
    arrays.update({f"shape{i}": np.zeros(s, np.float32) for i, s in enumerate(result_shapes)})
    np.savez(work / "call_in.npz", **arrays)
    done = subprocess.run([sys.executable, "-c", _CALL, str(lib), entry, str(work / "call_in.npz"),
                           str(work / "call_out.npz")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = np.load(work / "call_out.npz")
    return [out[f"arr_{i}"] for i in range(len(result_shapes))]
