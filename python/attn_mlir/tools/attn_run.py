"""attn-run: JIT-compile a `.mlir` file and run one function on numpy inputs.

    attn-run FILE [--entry NAME] [--inputs in.npz] [--output out.npz]
                  [--seed N] [--bench N] [-p PIPELINE] [--expect ref.npz]

Inputs come from an `.npz` holding `arg0`, `arg1`, ... in signature order, or
are seeded random arrays made from the signature. Results are written as
`result0`, `result1`, ... with `--output`.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import time
import zipfile
import zlib

import numpy as np
from mlir import ir

from ..context import make_context
from ..diagnostics import AttnError, stage
from ..jit import DEFAULT_PIPELINE, compile as jit_compile
from ..pipeline import Pipeline, run_pipeline
from ..source import load
from .common import (ArgumentParser, check_output_path, non_negative_float,
                     non_negative_int, write_bytes)
from .guard import run_guarded


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="attn-run",
                                description="JIT-compile a .mlir file and run one function.")
    p.add_argument("input", help="the .mlir file ('-' for stdin)")
    p.add_argument("--entry", default=None, help="function to run (default: the only public one)")
    p.add_argument("--inputs", metavar="NPZ", help="arguments as arg0, arg1, ... in an .npz")
    p.add_argument("--output", metavar="NPZ", help="write results as result0, result1, ... "
                   "(to exactly this file name)")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed for random inputs (default 0)")
    p.add_argument("--bench", type=non_negative_int, default=0, metavar="N",
                   help="time N calls and print median/min time per call")
    p.add_argument("-p", "--pass-pipeline", dest="pipeline", default=None, metavar="PIPELINE",
                   help="passes to run before compiling (same syntax as attn-opt)")
    p.add_argument("--lowering", default=DEFAULT_PIPELINE, metavar="PIPELINE",
                   help=f"the lowering pipeline (default: {DEFAULT_PIPELINE})")
    p.add_argument("--expect", metavar="NPZ",
                   help="compare results with result0, ... in this .npz and fail on mismatch")
    p.add_argument("--rtol", type=non_negative_float, default=1e-5)
    p.add_argument("--atol", type=non_negative_float, default=1e-5)
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the results")
    return p


def random_inputs(specs, seed: int, name: str = "the entry") -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for i, spec in enumerate(specs):
        if None in spec.shape:
            raise AttnError(f"argument {i} of {name} has a dynamic shape ({spec.mlir_type}); "
                            "give its value with --inputs")
        if np.issubdtype(spec.dtype, np.floating):
            arrays.append(rng.standard_normal(spec.shape).astype(spec.dtype))
        else:
            arrays.append(rng.integers(0, 8, spec.shape).astype(spec.dtype))
    return arrays


def _format_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 62


def check_sizes(fn) -> None:
    """Arguments and results must fit in memory: a clear error, not a MemoryError."""
    total, limit = 0, _memory_bytes()
    for what, specs in (("argument", fn.arg_specs), ("result", fn.result_specs)):
        for i, spec in enumerate(specs):
            if None in spec.shape:
                continue
            size = math.prod(spec.shape) * np.dtype(spec.dtype).itemsize
            total += size
            if size > limit:
                raise AttnError(f"{what} {i} of @{fn.name} ({spec.mlir_type}) needs "
                                f"{_format_bytes(size)}, more than this machine's memory "
                                f"({_format_bytes(limit)})")
    if total > limit:
        raise AttnError(f"the arguments and results of @{fn.name} need {_format_bytes(total)}, "
                        f"more than this machine's memory ({_format_bytes(limit)})")


def _load_npz(path: str, prefix: str, count: int) -> list[np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise AttnError(f"cannot read '{path}': no such file") from None
    except IsADirectoryError:
        raise AttnError(f"cannot read '{path}': is a directory") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise AttnError(f"cannot read '{path}': not an .npz file ({e.__class__.__name__})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise AttnError(f"cannot read '{path}': an .npy array, not an .npz archive of "
                        f"{prefix}0, {prefix}1, ...")
    with data:
        missing = [f"{prefix}{i}" for i in range(count) if f"{prefix}{i}" not in data.files]
        if missing:
            raise AttnError(f"'{path}' lacks {', '.join(missing)} (it has: "
                            f"{', '.join(data.files) or 'nothing'})")
        arrays = []
        for i in range(count):
            try:
                arrays.append(data[f"{prefix}{i}"])
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise AttnError(f"cannot read {prefix}{i} of '{path}': it holds Python "
                                    "objects (pickled), not a numeric array") from None
                raise AttnError(f"cannot read {prefix}{i} of '{path}': {e}") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise AttnError(f"cannot read {prefix}{i} of '{path}': the archive is damaged "
                                f"({e.__class__.__name__})") from None
        return arrays


def _save_npz(path: str, results: list[np.ndarray]) -> None:
    """Write exactly `path` (np.savez would append `.npz`), atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **{f"result{i}": r for i, r in enumerate(results)})
    write_bytes(path, buffer.getvalue())


def _main(args) -> int:
    if args.output:
        check_output_path(args.output)
    pipeline = Pipeline.parse(args.pipeline, anchored=True).validate() if args.pipeline else None
    lowering = Pipeline.parse(args.lowering, anchored=True).validate()
    context = make_context()
    with context, ir.Location.unknown():
        stage("parsing the input")
        module = load(args.input)
        if pipeline is not None:
            stage("running the pass pipeline")
            run_pipeline(module, pipeline)
        stage("compiling")
        start = time.perf_counter()
        fn = jit_compile(module, entry=args.entry, pipeline=lowering)
        compile_s = time.perf_counter() - start
    check_sizes(fn)
    stage("running @" + fn.name)
    inputs = (_load_npz(args.inputs, "arg", len(fn.arg_specs)) if args.inputs
              else random_inputs(fn.arg_specs, args.seed, "@" + fn.name))
    results = fn(*inputs)
    results = list(results) if isinstance(results, tuple) else [results]
    if args.output:
        _save_npz(args.output, results)
    if not args.quiet:
        with np.printoptions(precision=6, suppress=True, threshold=64, edgeitems=3):
            for i, r in enumerate(results):
                print(f"result{i}: {r.dtype}{list(r.shape)}\n{r}")
    status = 0
    if args.expect:
        for i, (got, want) in enumerate(zip(results, _load_npz(args.expect, "result", len(results)))):
            if got.shape != want.shape:
                print(f"result{i}: shape {list(got.shape)} vs {list(want.shape)} in "
                      f"{args.expect}: MISMATCH")
                status = 1
                continue
            err = float(np.max(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
            ok = bool(np.allclose(got, want, rtol=args.rtol, atol=args.atol))
            print(f"result{i}: max |error| = {err:.3g} vs {args.expect}: "
                  f"{'OK' if ok else 'MISMATCH'} (rtol {args.rtol:g}, atol {args.atol:g})")
            status |= 0 if ok else 1
    if args.bench:
        times = []
        for _ in range(args.bench):
            t0 = time.perf_counter()
            fn(*inputs)
            times.append(time.perf_counter() - t0)
        print(f"compile: {compile_s * 1e3:.1f} ms; {args.bench} calls: "
              f"median {statistics.median(times) * 1e3:.4f} ms, min {min(times) * 1e3:.4f} ms")
    return status


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: _main(args), "<stdin>" if args.input == "-" else args.input)


if __name__ == "__main__":
    sys.exit(main())
