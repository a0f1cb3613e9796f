"""attn-opt: an mlir-opt-style driver for attn-mlir.

Reads a `.mlir` file (or `-`), runs a pass pipeline that may mix upstream
passes and project passes, and prints the result. The tool only parses flags
and hands over to the library: parsing (`source`), pipelines (`pipeline`),
diagnostics (`diagnostics`) and reports live there.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys

from mlir import ir

from .. import diagnostics, report, rewrite_log, weights
from ..check_rewrites import Checker, checking
from ..context import make_context
from ..constants import inline_derived
from ..diagnostics import AttnError, Remarks, error_at, one_line, stage
from ..passes import all_passes, lookup
from ..pipeline import Pipeline, make_pass
from ..source import parse_module, read_text, split_input
from .common import (ArgumentParser, check_output_path, non_negative_float, run_main,
                     write_output)
from .guard import run_guarded
from .verify import check, parse_expectations


class _AppendPass(argparse.Action):
    """`--attn-foo` / `--attn-foo='a=1 b=2'`: appended to the pipeline in flag order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = getattr(namespace, "pass_flags", None) or []
        items.append((self.dest, values or ""))
        namespace.pass_flags = items


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="attn-opt",
        description="Run MLIR and attn-mlir passes on a .mlir file, like mlir-opt.",
        epilog="Project passes can be used as flags (--attn-NAME) or inside "
               "--pass-pipeline together with upstream passes. See --list-passes.")
    p.add_argument("input", nargs="?", default="-", help="input file, '-' for stdin (default)")
    p.add_argument("-o", dest="output", default="-", metavar="FILE",
                   help="output file (default: stdout)")
    p.add_argument("-p", "--pass-pipeline", dest="pipeline", action="append", default=[],
                   metavar="PIPELINE", help="textual pass pipeline, e.g. "
                   "'builtin.module(attn-fold-transposes,canonicalize)'")
    p.add_argument("--list-passes", action="store_true",
                   help="list project passes with their options and exit")
    p.add_argument("--verbose", action="store_true",
                   help="with --list-passes: print each pass's full documentation")
    p.add_argument("--help-pass", metavar="NAME", default=None,
                   help="print the full documentation of one project pass and exit")
    p.add_argument("--split-input-file", action="store_true",
                   help="split the input at '// -----' and process each chunk on its own")
    p.add_argument("--verify-diagnostics", action="store_true",
                   help="check diagnostics against expected-* comments in the input")
    p.add_argument("--mlir-print-ir-after-all", action="store_true")
    p.add_argument("--mlir-print-ir-before-all", action="store_true")
    p.add_argument("--mlir-timing", action="store_true", help="print pass timings on stderr")
    p.add_argument("--mlir-print-op-generic", action="store_true")
    p.add_argument("--mlir-print-debuginfo", action="store_true")
    p.add_argument("--mlir-print-op-on-diagnostic", action="store_true",
                   help="keep the whole of multi-line diagnostics (with the op they are about)")
    p.add_argument("--mlir-elide-elementsattrs-if-larger", type=int, metavar="N", default=None)
    p.add_argument("--attn-check-rewrites", action="store_true",
                   help="run each rewrite that fires on random inputs before and after, and "
                        "refuse (error) any that changes results")
    p.add_argument("--attn-check-rewrites-budget", type=non_negative_float, default=120.0,
                   metavar="SECONDS", help="time the checks may take per input (default 120)")
    p.add_argument("--no-verify", dest="verify_each", action="store_false",
                   help="do not verify the IR after each pass")
    for cls in all_passes():
        p.add_argument(f"--{cls.name}", dest=cls.name, nargs="?", const="", metavar="OPTIONS",
                       action=_AppendPass, help=cls.summary)
    return p


def list_passes(verbose: bool = False) -> str:
    lines = ["Project passes and pipelines (use as --NAME or in --pass-pipeline):"]
    for cls in all_passes():
        lines += _describe(cls, verbose)
    lines.append("Upstream MLIR passes are accepted too (see `mlir-opt --help`).")
    return "\n".join(lines) + "\n"


def _describe(cls, verbose: bool) -> list[str]:
    kind = " (pipeline)" if cls.is_pipeline else ""
    lines = [f"  {cls.name}{kind}", f"      {cls.summary}"]
    for opt in cls.options:
        default = opt.format(opt.default)
        lines.append(f"      {opt.name}={opt.type.__name__} (default {default}): {opt.help}")
    if verbose:
        doc = pass_documentation(cls)
        if doc:
            lines.append("")
            lines += [("        " + line).rstrip() for line in doc.splitlines()]
            lines.append("")
    return lines


def pass_documentation(cls) -> str:
    """The documentation of a pass: its file's docstring (one pass per file: the identity
    and the legality conditions), then its class's or function's own docstring."""
    parts = []
    module = sys.modules.get(cls.__module__)
    if module is not None and module.__doc__ and cls.__module__ != "attn_mlir.passes":
        parts.append(inspect.cleandoc(module.__doc__))
    own = cls.__dict__.get("__doc__")
    if own and inspect.cleandoc(own) not in parts:
        parts.append(inspect.cleandoc(own))
    return "\n\n".join(parts)


def help_pass(name: str) -> str:
    cls = lookup(name)
    if cls is None:
        known = ", ".join(c.name for c in all_passes())
        raise AttnError(f"unknown project pass '{name}' (known: {known})", usage=True)
    return "\n".join(l for l in _describe(cls, verbose=True)) + "\n"


REPORT_FLAG = "attn-report"


def _pipeline(args) -> Pipeline:
    """`-p` pipelines, then `--NAME` flags, in that order."""
    items = [Pipeline.parse(text, anchored=True) for text in args.pipeline]
    for name, options in getattr(args, "pass_flags", None) or []:
        if name == REPORT_FLAG:
            args.report = True  # the flag reports input vs output, see process_chunk
            continue
        items.append(make_pass(name, options))
    return Pipeline.of(items)


def _print(module: ir.Module, args) -> str:
    kwargs = dict(print_generic_op_form=args.mlir_print_op_generic,
                  enable_debug_info=args.mlir_print_debuginfo)
    if args.mlir_elide_elementsattrs_if_larger is not None:
        kwargs["large_elements_limit"] = args.mlir_elide_elementsattrs_if_larger
    text = module.operation.get_asm(**kwargs)
    return text if text.endswith("\n") else text + "\n"


def derived_weights_path(output: str, index: int) -> str:
    """Where the weights computed for chunk `index` go, next to the output file."""
    stem = output[:-len(".mlir")] if output.endswith(".mlir") else output
    return f"{stem}.weights.safetensors" if index == 0 else f"{stem}.weights.{index}.safetensors"


def _place_derived(module: ir.Module, args, index: int) -> None:
    """Weights a rewrite computed for a module with weights files: written beside the
    output file (-o), or put back into the IR when printing to stdout."""
    if args.output == "-" or (os.path.exists(args.output) and not os.path.isfile(args.output)):
        inline_derived(module.operation)  # stdout, /dev/null, a pipe: no folder to write to
        return
    path = derived_weights_path(args.output, index)
    try:
        weights.write_derived(module.operation, path)
    except weights.WeightsError as e:
        raise AttnError([error_at(module.operation, str(e))]) from None
    except OSError as e:
        raise AttnError([error_at(module.operation, f"cannot write the new weights to "
                                                    f"'{path}': {e.strerror}")]) from None


def process_chunk(chunk, filename: str, pipeline: Pipeline, args, remarks: Remarks,
                  index: int = 0) -> str:
    context = make_context()
    with context, ir.Location.unknown():
        stage("parsing the input")
        module = parse_module(chunk.text, filename, chunk.first_line)
        rewrite_log.current_log.clear()
        before = report.count_module(module) if getattr(args, "report", False) else None
        if pipeline.items:
            from ..pipeline import run_pipeline

            run_pipeline(module, pipeline,
                         print_ir_before_all=args.mlir_print_ir_before_all,
                         print_ir_after_all=args.mlir_print_ir_after_all,
                         timing=args.mlir_timing, print_generic=args.mlir_print_op_generic,
                         verify_each=args.verify_each)
        if before is not None:
            sys.stderr.write(str(report.compare(before, module, rewrite_log.current_log.events)))
        _place_derived(module, args, index)
        return _print(module, args)


def _main(args) -> int:
    if args.output != "-":
        check_output_path(args.output)
    pipeline = _pipeline(args).validate()
    filename = "<stdin>" if args.input == "-" else args.input
    text = read_text(args.input)
    outputs, failed, problems = [], False, []
    for index, chunk in enumerate(split_input(text, args.split_input_file)):
        checker = Checker(budget_s=args.attn_check_rewrites_budget) \
            if args.attn_check_rewrites else None
        remarks = Remarks()
        diagnostics.current_remarks = remarks
        produced = []
        try:
            with checking(checker) if checker else contextlib.nullcontext():
                outputs.append(process_chunk(chunk, filename, pipeline, args, remarks, index))
        except AttnError as e:
            if e.usage:
                raise
            produced = e.diagnostics
            failed = True
        produced = remarks.items + produced
        if not args.mlir_print_op_on_diagnostic:
            produced = [one_line(d) for d in produced]
        if args.verify_diagnostics:
            problems += check(produced, parse_expectations(chunk.text, chunk.first_line, filename),
                              filename)
        else:
            for d in produced:
                print(d.format(), file=sys.stderr)
    if args.verify_diagnostics:
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            return 1
        write_output(args.output, "// -----\n".join(outputs))
        return 0
    # A failed chunk of a split file still shows the others on stdout, but a file
    # named with -o is only ever written by a fully successful run.
    if failed and (not args.split_input_file or args.output != "-"):
        return 1
    write_output(args.output, "// -----\n".join(outputs))
    return 1 if failed else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.help_pass is not None:
        return run_main(lambda: _write(help_pass(args.help_pass)))
    if args.list_passes:
        return run_main(lambda: _write(list_passes(args.verbose)))
    if args.verbose:
        return run_main(lambda: _usage("--verbose goes with --list-passes"))
    return run_guarded(lambda: _main(args), "<stdin>" if args.input == "-" else args.input)


def _write(text: str) -> int:
    sys.stdout.write(text)
    return 0


def _usage(message: str) -> int:
    raise AttnError(message, usage=True)


if __name__ == "__main__":
    sys.exit(main())
