"""attn-compile: ahead-of-time compile a `.mlir` file into a shared library and a C header.

    attn-compile FILE.mlir [-p PIPELINE] [--entry NAME] [--threads N]
                 [--target-triple T] [--target-cpu C] -o libNAME.so

Writes `libNAME.so` and `NAME.h` (one C function per public entry, or only
`--entry`) with the JIT's lowering (attn-to-llvm); see `attn_mlir.aot`.
"""

from __future__ import annotations

import argparse
import sys

from mlir import ir

from ..aot import compile_library
from ..context import make_context
from ..source import load
from .common import ArgumentParser, run_main


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="attn-compile",
                       description="Compile a .mlir file into a shared library (libNAME.so) "
                                   "and its C header (NAME.h).")
    p.add_argument("input", help="the .mlir file ('-' for stdin)")
    p.add_argument("-o", dest="output", required=True, metavar="libNAME.so",
                   help="the library to write; NAME.h is written next to it")
    p.add_argument("-p", "--pass-pipeline", dest="pipeline", default=None, metavar="PIPELINE",
                   help="passes to run before the lowering (same syntax as attn-opt), "
                        "e.g. 'builtin.module(attn-optimize)'")
    p.add_argument("--entry", default=None, metavar="NAME",
                   help="export only this function (default: every public function)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="OpenMP threads baked into the code (default 0: this machine's cores; "
                        "1: single-threaded, no OpenMP runtime needed)")
    p.add_argument("--target-triple", default=None, metavar="T",
                   help="LLVM target triple (default: the host)")
    p.add_argument("--target-cpu", default=None, metavar="C",
                   help="LLVM target CPU, e.g. x86-64-v3 (default: the host CPU)")
    p.add_argument("--cc", default=None, help="C compiler that links the library "
                                              "(default: $CC, else cc)")
    return p


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    with make_context(), ir.Location.unknown():
        module = load(args.input)
        compile_library(module, args.output, entry=args.entry, pipeline=args.pipeline,
                        threads=args.threads, target_triple=args.target_triple,
                        target_cpu=args.target_cpu, cc=args.cc,
                        source="<stdin>" if args.input == "-" else args.input)
    return 0


def main(argv=None) -> int:
    return run_main(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
