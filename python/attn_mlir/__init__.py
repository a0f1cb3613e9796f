"""attn-mlir: an MLIR compiler for transformer attention heads.

The Python API, in the order data flows through it::

    import attn_mlir as am
    ctx = am.make_context()
    with ctx:
        module = am.parse(text)                      # or am.load("head.mlir")
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        fn = am.compile(module, entry="attention")   # numpy in, numpy out
        out = fn(x, wq, wk, wv)
    print(am.rewrite_report(counts_before, module))  # counts_before = am.report.count_module(..)

A PyTorch module compiles with `am.from_torch(module, *example_inputs)`
(torch-mlir runs in a child process). New passes are written in Python with `@am.register_pass("name")`.
"""

from .aot import compile_library
from .context import make_context
from .diagnostics import AttnError, Diagnostic
from .from_torch import from_torch
from .jit import CompiledFunction, compile
from .passes import Option, Pass, all_passes, register_pass
from .pipeline import Pipeline, run_pipeline
from .report import compare as rewrite_report
from .source import load, parse_module


def parse(text: str, filename: str = "<string>", weights_files=None):
    """Parse MLIR text in the current context (a new one from make_context() if none);
    `weights_files` replaces the files the module's `attn.weights` names."""
    return parse_module(text, filename, weights_files=weights_files)


def optimize(module, *, check: bool = False, max_weight_growth: float = 1.0,
             max_rounds: int = 8, check_budget_s: float = 120.0):
    """Run `attn-optimize` on `module` in place and return it.

    `check=True` runs every rewrite that fires on random inputs before and after
    (see `attn_mlir.check_rewrites`) and raises AttnError, naming the rewrite, if one
    changes results.
    """
    from .check_rewrites import Checker, checking

    pipeline = Pipeline.of([_optimize_pass(max_weight_growth, max_rounds)])
    if not check:
        run_pipeline(module, pipeline)
        return module
    with checking(Checker(budget_s=check_budget_s)):
        run_pipeline(module, pipeline)
    return module


def _optimize_pass(max_weight_growth: float, max_rounds: int):
    from .pipeline import make_pass

    return make_pass("attn-optimize", {"max-weight-growth": max_weight_growth,
                                       "max-rounds": max_rounds})


__all__ = [
    "make_context", "parse", "load", "optimize", "parse_module", "run_pipeline", "Pipeline", "compile",
    "CompiledFunction", "register_pass", "Pass", "Option", "all_passes", "AttnError",
    "Diagnostic", "rewrite_report", "from_torch",
    "compile_library",
]
