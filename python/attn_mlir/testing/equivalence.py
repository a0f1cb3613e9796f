"""Numerical equivalence of a module before and after a rewrite pipeline.

`check_rewrite(text, pipeline, inputs)` parses the module, JIT-runs it, runs the
pipeline, JIT-runs the result on the same inputs and asserts both agree
(rtol 1e-4, atol 1e-5 unless told otherwise). It returns what the test needs
next: both outputs, the rewritten text and the rewrite log's events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..context import make_context
from ..jit import compile as jit_compile
from ..pipeline import run_pipeline
from ..rewrite_log import RewriteEvent, current_log
from ..source import parse_module

RTOL, ATOL = 1e-4, 1e-5


@dataclass
class RewriteOutcome:
    before: list[np.ndarray]
    after: list[np.ndarray]
    text: str
    events: list[RewriteEvent]

    def fired(self, pass_name: str) -> int:
        return sum(1 for e in self.events if e.fired and e.pass_name == pass_name)


def random_inputs(fn, seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal inputs for every argument of a compiled function."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(s.dtype) for s in fn.arg_specs]


def _as_list(out) -> list[np.ndarray]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def check_rewrite(text: str, pipeline: str, inputs: list[np.ndarray] | None = None, *,
                  entry: str | None = None, rtol: float = RTOL, atol: float = ATOL,
                  seed: int = 0) -> RewriteOutcome:
    """Run `text` before and after `pipeline` on the same inputs; assert they agree."""
    with make_context():
        module = parse_module(text, "<rewrite-test>")
        original = jit_compile(module, entry=entry)
        if inputs is None:
            inputs = random_inputs(original, seed)
        before = _as_list(original(*inputs))
        current_log.clear()
        run_pipeline(module, pipeline)
        events = list(current_log.events)
        rewritten_text = str(module)
        after = _as_list(jit_compile(module, entry=entry)(*inputs))
    assert len(before) == len(after)
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return RewriteOutcome(before, after, rewritten_text, events)
