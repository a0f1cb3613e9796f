"""attn-report: print what the module costs and what the rewrites did; change nothing.

In a pipeline (`-p 'builtin.module(attn-fold-transposes,attn-report)'`) it
prints, on stderr, the per-function counts of `attn_mlir.report` (matmuls,
other linalg ops, FLOPs, constant bytes) at that point and the rewrite log's
fired/skipped events so far. The `--attn-report` flag of `attn-opt` does not
run it at a position: it measures the input before the whole pipeline and the
output after it and prints both side by side (`attn_mlir.report.compare`).
"""

from __future__ import annotations

import sys

from mlir import ir

from ..report import snapshot
from ..rewrite_log import current_log
from . import register_pass


@register_pass("attn-report",
               summary="Print matmul/linalg/FLOP/constant-byte counts and fired/skipped "
                       "rewrites on stderr (as a flag of attn-opt: input vs output).")
def attn_report(op: ir.Operation) -> None:
    sys.stderr.write(snapshot(op, current_log.events))
    sys.stderr.flush()
