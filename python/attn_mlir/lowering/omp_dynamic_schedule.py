"""`attn-omp-dynamic-schedule`: hand out parallel tiles to OpenMP threads on demand.

`convert-scf-to-openmp` emits worksharing loops with the static schedule:
thread t gets tiles t, t+N, ... up front, so one thread that the OS
preempts (a busy machine) stalls the whole region. With `schedule(dynamic)`
a free thread takes the next tile. Tiles are independent (they come from
`scf.forall`), so the order in which threads run them does not change the
result.
"""

from __future__ import annotations

from mlir import ir

from ..ir_utils import walk_ops
from ..passes import register_pass


@register_pass("attn-omp-dynamic-schedule",
               summary="Give every omp.wsloop the dynamic schedule (tiles taken on demand).")
def omp_dynamic_schedule(op):
    """Legal on any omp.wsloop without a schedule: iterations of a worksharing
    loop may run in any order and on any thread."""
    for loop in walk_ops(op, "omp.wsloop"):
        if "schedule_kind" not in loop.attributes:
            loop.attributes["schedule_kind"] = ir.Attribute.parse("#omp<schedulekind dynamic>")
