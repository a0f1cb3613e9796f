"""The MLIR context every attn-mlir entry point works in.

Upstream dialects are registered by the bindings; the `attn` dialect is loaded
from its IRDL definition in `dialect/attn.irdl.mlir`, the same file that
upstream `mlir-opt --irdl-file=` reads.
"""

from __future__ import annotations

from pathlib import Path

from mlir import ir
from mlir.dialects import irdl

DIALECT_FILE = Path(__file__).resolve().parent / "dialect" / "attn.irdl.mlir"


def make_context() -> ir.Context:
    """A fresh context with all upstream dialects and the attn dialect loaded."""
    ctx = ir.Context()
    # Python passes run inside the pass manager; keep their execution on one thread
    # so diagnostics and remarks come out in program order.
    ctx.enable_multithreading(False)
    with ctx, ir.Location.unknown():
        definition = ir.Module.parse(DIALECT_FILE.read_text())
        irdl.load_dialects(definition)
    return ctx
