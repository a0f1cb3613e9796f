"""attn-run: JIT-compile a `.mlir` file and run one function on numpy inputs.

    attn-run FILE [--entry NAME] [--inputs in.npz] [--output out.npz]
                  [--seed N] [--bench N] [-p PIPELINE] [--expect ref.npz]

Inputs come from an `.npz` holding `arg0`, `arg1`, ... in signature order, or
are seeded random arrays made from the signature. Results are written as
`result0`, `result1`, ... with `--output`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from mlir import ir

from ..context import make_context
from ..diagnostics import AttnError
from ..jit import DEFAULT_PIPELINE, compile as jit_compile
from ..pipeline import Pipeline, run_pipeline
from ..source import load
from .common import ArgumentParser, run_main


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="attn-run",
                                description="JIT-compile a .mlir file and run one function.")
    p.add_argument("input", help="the .mlir file ('-' for stdin)")
    p.add_argument("--entry", default=None, help="function to run (default: the only public one)")
    p.add_argument("--inputs", metavar="NPZ", help="arguments as arg0, arg1, ... in an .npz")
    p.add_argument("--output", metavar="NPZ", help="write results as result0, result1, ...")
    p.add_argument("--seed", type=int, default=0, help="seed for random inputs (default 0)")
    p.add_argument("--bench", type=int, default=0, metavar="N",
                   help="time N calls and print median/min time per call")
    p.add_argument("-p", "--pass-pipeline", dest="pipeline", default=None, metavar="PIPELINE",
                   help="passes to run before compiling (same syntax as attn-opt)")
    p.add_argument("--lowering", default=DEFAULT_PIPELINE, metavar="PIPELINE",
                   help=f"the lowering pipeline (default: {DEFAULT_PIPELINE})")
    p.add_argument("--expect", metavar="NPZ",
                   help="compare results with result0, ... in this .npz and fail on mismatch")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-5)
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


def _load_npz(path: str, prefix: str, count: int) -> list[np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise AttnError(f"cannot read '{path}': no such file") from None
    except IsADirectoryError:
        raise AttnError(f"cannot read '{path}': is a directory") from None
    except (OSError, ValueError, EOFError) as e:
        raise AttnError(f"cannot read '{path}': not an .npz file ({e.__class__.__name__})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise AttnError(f"cannot read '{path}': an .npy array, not an .npz archive of "
                        f"{prefix}0, {prefix}1, ...")
    missing = [f"{prefix}{i}" for i in range(count) if f"{prefix}{i}" not in data.files]
    if missing:
        raise AttnError(f"'{path}' lacks {', '.join(missing)} (it has: {', '.join(data.files)})")
    return [data[f"{prefix}{i}"] for i in range(count)]


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    context = make_context()
    with context, ir.Location.unknown():
        module = load(args.input)
        if args.pipeline:
            run_pipeline(module, Pipeline.parse(args.pipeline))
        start = time.perf_counter()
        fn = jit_compile(module, entry=args.entry, pipeline=args.lowering)
        compile_s = time.perf_counter() - start
    inputs = (_load_npz(args.inputs, "arg", len(fn.arg_specs)) if args.inputs
              else random_inputs(fn.arg_specs, args.seed, "@" + fn.name))
    results = fn(*inputs)
    results = list(results) if isinstance(results, tuple) else [results]
    if args.output:
        try:
            np.savez(args.output, **{f"result{i}": r for i, r in enumerate(results)})
        except OSError as e:
            raise AttnError(f"cannot write '{args.output}': {e.strerror or e}") from None
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
    return run_main(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
