"""Keep large freed blocks in the process heap so compiled code reuses them.

Compiled functions allocate their temporaries (a 16 MiB score tensor, for
example) with `malloc` on every call. glibc serves blocks above its mmap
threshold with fresh `mmap`s and returns them to the OS on `free`, so every
call pays a page fault per 4 KiB page touched, which costs more than the
arithmetic for attention-sized temporaries. Raising the mmap and trim
thresholds keeps such blocks in the heap between calls. Glibc only; a
no-op elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Largest value glibc accepts for the mmap threshold (HEAP_MAX / 2 on 64-bit).
_THRESHOLD = 32 * 1024 * 1024


@functools.lru_cache(maxsize=None)
def reuse_large_allocations() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; True if applied."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, _THRESHOLD) == 1
    return bool(mallopt(M_TRIM_THRESHOLD, 2 * _THRESHOLD) == 1 and ok)
