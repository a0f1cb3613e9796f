"""A fuzzer for the attn-mlir tools: `python -m attn_mlir.fuzz`.

Cases are mutants of the bundled `.mlir` inputs (examples, fixtures, the chunks of
the lit tests: token, line, number, type and shape mutations, truncation) and
generated attention heads in varied spellings (`attn_mlir.testing.heads`). Each case
goes through `attn-opt` (parse only, `--attn-optimize`, `--attn-to-llvm`) and
`attn-run` (original with the default lowering and with `schedule=loops`, and the
optimized module), each in a forked child with a timeout. Outcomes:

    diagnostic   the tools rejected the input with clean `file:line:col: error:` lines
    success      everything ran and every comparison held
    internal     an internal error (a Python exception) instead of a diagnostic
    signal       a tool crashed (the guard reported "the compiler crashed", or a signal)
    timeout      a tool ran longer than --timeout seconds
    mismatch     original vs optimized, default vs loops lowering, or (generated heads)
                 vs the float64 numpy reference differ beyond float tolerance

The last four are failures: each writes a reproducer folder (input, command, output).
"""

from .run import Outcome, main, run_case  # noqa: F401

__all__ = ["Outcome", "main", "run_case"]
