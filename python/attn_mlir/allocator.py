"""Keep large freed blocks in the process heap (kept for compatibility; not needed).

Compiled functions no longer allocate their static temporaries per call: they
live in a workspace planned at compile time (lowering/memory_plan.py), so
there is nothing left for this setting to speed up in the default lowering.
It still helps code lowered without `attn-plan-memory` (dynamic shapes, or a
pipeline that leaves it out), which allocates temporaries with `malloc` on
every call. glibc serves large blocks with fresh
`mmap`s and returns them to the OS on `free`, so every call pays a page
fault per 4 KiB page touched, which costs more than the arithmetic for
attention-sized temporaries. Serving every block from the heap (no mmap) and
trimming the heap only above 1 GiB of free memory keeps such blocks in the
process between calls: a process that JIT-runs kernels keeps its peak heap.
This changes malloc for the whole process, so it is opt-in: call
`reuse_large_allocations()` in a process that mainly runs compiled kernels
(the benchmark harness does, in its own worker process). Glibc only; a no-op
elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
_TRIM = 1 << 30


@functools.lru_cache(maxsize=None)
def reuse_large_allocations() -> bool:
    """No mmapped blocks, a 1 GiB trim threshold; once per process; True if applied."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_MAX, 0) == 1
    return bool(mallopt(M_TRIM_THRESHOLD, _TRIM) == 1 and ok)
