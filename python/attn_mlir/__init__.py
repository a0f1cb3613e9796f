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


def parse(text: str, filename: str = "<string>"):
    """Parse MLIR text in the current context (see make_context)."""
    return parse_module(text, filename)


__all__ = [
    "make_context", "parse", "load", "parse_module", "run_pipeline", "Pipeline", "compile",
    "CompiledFunction", "register_pass", "Pass", "Option", "all_passes", "AttnError",
    "Diagnostic", "rewrite_report", "from_torch",
    "compile_library",
]
