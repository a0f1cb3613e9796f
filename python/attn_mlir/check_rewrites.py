"""`--attn-check-rewrites`: every rewrite that fires is checked on random inputs as it is made.

When checking is on, a rewrite pass (one of `REWRITES`) run through
`checked(pass, op)` is bracketed: the module's text before and after is
JIT-compiled with a cheap lowering (`CHEAP_LOWERING`: plain loops, no raising,
one thread), every public function whose module changed is called on the same
random inputs drawn from its signature, and the results must agree:

    max |after - before|  <=  atol + rtol * max |before|      (per result)

A rewrite that changes results is refused: a located error at the function names
the rewrite and the error, and the pipeline fails (the wrong IR is never printed
or compiled). Checks stop when their time budget (`budget_s`, per pipeline run)
is spent; a function the check cannot run (dynamic shapes, types the JIT boundary
does not take) is skipped. Results of a module text are cached, so the "after" of
one rewrite is the "before" of the next without a second compile.

Turned on by `attn-opt --attn-check-rewrites`, `attn_mlir.optimize(module,
check=True)`, the `checking()` context manager, or ATTN_MLIR_CHECK_REWRITES=1 for
every pipeline run (the test suite sets it, see test/conftest.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field

import numpy as np
from mlir import ir

from . import diagnostics, rewrite_log
from .diagnostics import AttnError, Diagnostic, location_parts

CHEAP_LOWERING = "builtin.module(attn-to-llvm{schedule=loops raise=false threads=1})"
# The rewrites of attn-optimize: each is checked when it changes the module.
REWRITES = frozenset({"attn-fold-transposes", "attn-fold-score-scale", "attn-fold-rotate-half",
                      "attn-fold-mul-into-matmul", "attn-merge-adds", "attn-fuse-projections"})
ENV = "ATTN_MLIR_CHECK_REWRITES"


@dataclass
class Checker:
    """Settings and state of the checks of one pipeline run."""

    rtol: float = 1e-3
    atol: float = 1e-5
    budget_s: float = 120.0
    seed: int = 0
    spent_s: float = 0.0
    checked: int = 0
    skipped: list[str] = field(default_factory=list)
    _results: dict = field(default_factory=dict)

    def out_of_time(self) -> bool:
        return self.spent_s >= self.budget_s


_current: Checker | None = None


def active() -> Checker | None:
    """The checker of the running pipeline, if checking is on."""
    return _current


def from_environment() -> Checker | None:
    """A checker when ATTN_MLIR_CHECK_REWRITES=1 (budget: ATTN_MLIR_CHECK_REWRITES_BUDGET
    seconds per pipeline run, default 10), else None."""
    if os.environ.get(ENV, "") in ("", "0"):
        return None
    try:
        budget = float(os.environ.get(ENV + "_BUDGET", "10"))
    except ValueError:
        budget = 10.0
    return Checker(budget_s=budget)


@contextlib.contextmanager
def checking(checker: Checker | None = None):
    """Check every rewrite run inside the block (`attn_mlir.optimize(check=True)`, the CLI flag)."""
    global _current
    previous, _current = _current, checker or Checker()
    try:
        yield _current
    finally:
        _current = previous


def checked(p, op: ir.Operation) -> None:
    """Run rewrite pass `p` on `op`; with checking on, refuse it if it changes results."""
    checker = active()
    if checker is None or not is_rewrite(p) or checker.out_of_time():
        p.run(op)
        return
    module = _module_of(op)
    before = _text(module)
    p.run(op)
    after = _text(module)
    if after == before:
        return
    start = time.perf_counter()
    try:
        _compare(checker, p.name, module, before, after)
    finally:
        checker.spent_s += time.perf_counter() - start


def is_rewrite(p) -> bool:
    """attn-optimize's rewrites, and passes that declare `is_rewrite = True` (test passes)."""
    return p.name in REWRITES or getattr(p, "is_rewrite", False)


def _module_of(op: ir.Operation) -> ir.Operation:
    while op.parent is not None and op.name != "builtin.module":
        op = op.parent
    return op


def _text(module: ir.Operation) -> str:
    return module.get_asm(print_generic_op_form=True, enable_debug_info=False)


def _public_functions(module: ir.Operation) -> list[ir.Operation]:
    out = []
    for block in module.regions[0].blocks:
        for child in block.operations:
            child = child.operation
            if child.name != "func.func" or len(child.regions[0].blocks) == 0:
                continue
            visibility = child.attributes["sym_visibility"] if "sym_visibility" in child.attributes \
                else None
            if visibility is None or ir.StringAttr(visibility).value == "public":
                out.append(child)
    return out


def _inputs(specs, seed: int) -> list[np.ndarray] | None:
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        if None in spec.shape:
            return None
        if np.issubdtype(spec.dtype, np.floating):
            arrays.append(rng.standard_normal(spec.shape).astype(spec.dtype))
        else:  # masks and positions: small non-negative integers
            arrays.append(rng.integers(0, 2, spec.shape).astype(spec.dtype))
    return arrays


def _run(checker: Checker, text: str, name: str):
    """Results of @name in module `text` on the checker's random inputs (cached by text)."""
    from .jit import compile as jit_compile  # noqa: PLC0415 (jit imports the pass pipeline)

    key = (hashlib.sha256(text.encode()).hexdigest(), name)
    if key not in checker._results:
        fn = jit_compile(text, entry=name, pipeline=CHEAP_LOWERING, opt_level=0)
        inputs = _inputs(fn.arg_specs, checker.seed)
        if inputs is None:
            raise _Unrunnable("dynamic argument shapes")
        results = fn(*inputs)
        checker._results[key] = list(results) if isinstance(results, tuple) else [results]
    return checker._results[key]


class _Unrunnable(Exception):
    """The check cannot run this function (not an error of the rewrite)."""


@contextlib.contextmanager
def _quiet():
    """Compiling for the check must not add remarks or log records to the user's run."""
    remarks, diagnostics.current_remarks = diagnostics.current_remarks, diagnostics.Remarks()
    events = len(rewrite_log.current_log.events)
    try:
        yield
    finally:
        diagnostics.current_remarks = remarks
        del rewrite_log.current_log.events[events:]


def _compare(checker: Checker, pass_name: str, module: ir.Operation, before: str,
             after: str) -> None:
    for func in _public_functions(module):
        name = ir.StringAttr(func.attributes["sym_name"]).value
        try:
            with _quiet():
                want = _run(checker, before, name)
                got = _run(checker, after, name)
        except (AttnError, _Unrunnable) as e:
            checker.skipped.append(f"@{name} after {pass_name}: {e}")
            continue
        checker.checked += 1
        for i, (a, b) in enumerate(zip(got, want)):
            problem = _difference(a, b, checker)
            if problem:
                file, line, col = location_parts(func.location)
                raise AttnError([Diagnostic(
                    "error", f"rewrite '{pass_name}' changed the results of @{name} "
                             f"(result {i}: {problem}); the rewrite is refused "
                             "(--attn-check-rewrites)", file, line, col)])


def _difference(got: np.ndarray, want: np.ndarray, checker: Checker) -> str | None:
    if got.shape != want.shape:
        return f"shape {list(got.shape)} instead of {list(want.shape)}"
    if got.size == 0:
        return None
    g, w = got.astype(np.float64), want.astype(np.float64)
    finite = np.isfinite(w)
    if not np.array_equal(finite, np.isfinite(g)):
        return "non-finite values where there were none, or the reverse"
    if not finite.any():
        return None
    err = float(np.max(np.abs(g[finite] - w[finite])))
    scale = float(np.max(np.abs(w[finite])))
    if err > checker.atol + checker.rtol * scale:
        return f"max |error| {err:.3g} against max |value| {scale:.3g}"
    return None


__all__ = ["Checker", "checked", "checking", "active", "from_environment", "is_rewrite",
           "REWRITES", "CHEAP_LOWERING"]
