"""Schedules: the replaceable stage of `attn-to-llvm` that turns linalg into loops.

A schedule contributes passes before bufferization (on tensors: tiling,
fusion, vectorisation) and after it (on buffers: loops, vector lowering).
"""

from __future__ import annotations

# The plain schedule: every linalg op becomes a scalar loop nest.
LOOPS = "loops"

NAMES = (LOOPS,)


def tensor_stage(name: str) -> list:
    return []


def buffer_stage(name: str) -> list:
    return ["convert-linalg-to-loops"]
