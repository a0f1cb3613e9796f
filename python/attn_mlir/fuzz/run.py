"""Running fuzz cases through the tools and classifying what happened."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import selectors
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..testing.heads import (MASKS, NORMALISATIONS, ROW_MAXES, SCALES, HeadSpec, head_module,
                             head_reference)
from .mutate import mutate

ROOT = Path(__file__).resolve().parents[3]  # the source tree (examples/, test/)
BAD = ("internal", "signal", "timeout", "mismatch")
MAX_SEED_BYTES = 40_000  # larger fixtures compile slowly: mutate the small ones
RTOL, ATOL = 1e-3, 1e-4

_DIAGNOSTIC = re.compile(r"^(?:\S.*?:\d+:\d+: |\S+: |)(?:error|warning|note|remark): |"
                         r"^attn-(?:opt|run): error: ")


@dataclass
class Outcome:
    kind: str  # diagnostic, success, internal, signal, timeout, mismatch
    detail: str = ""
    steps: list = field(default_factory=list)


@dataclass
class ToolRun:
    argv: list
    code: int | None  # None: timed out; negative: killed by that signal
    stdout: str
    stderr: str

    def kind(self) -> str:
        if self.code is None:
            return "timeout"
        if self.code < 0 or "the compiler crashed" in self.stderr:
            return "signal"
        if "internal error" in self.stderr or "Traceback (most recent call last)" in self.stderr:
            return "internal"
        if self.code == 0:
            return "success"
        lines = [l for l in self.stderr.splitlines() if l.strip()]
        if self.code in (1, 2) and lines and all(_DIAGNOSTIC.match(l) for l in lines):
            return "diagnostic"
        return "internal"  # a failure without a clean diagnostic


def _tool_main(tool: str):
    if tool == "attn-opt":
        from ..tools.attn_opt import main
    else:
        from ..tools.attn_run import main
    return main


def _fork() -> int:
    """os.fork() with Python's buffers flushed first (a child must not repeat them)."""
    sys.stdout.flush()
    sys.stderr.flush()
    return os.fork()


def run_tool(tool: str, argv: list[str], timeout: float) -> ToolRun:
    """Run attn-opt or attn-run's main in a forked child (the tools' startup cost is paid once)."""
    _tool_main(tool)  # imported here, so that every child inherits it
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = _fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8")
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8")
            tool_main = _tool_main(tool)
            try:
                code = tool_main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = time.monotonic() + timeout
    status = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            for sig in (signal.SIGKILL,):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
            os.waitpid(pid, 0)
            status = None
            break
        time.sleep(0.02)
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode("utf-8", "replace")
    stderr = err.read().decode("utf-8", "replace")
    out.close()
    err.close()
    if status is None:
        code = None
    elif os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    return ToolRun([tool] + argv, code, stdout, stderr)


# --- cases -----------------------------------------------------------------------------------

def seed_texts() -> list[tuple[str, str]]:
    """(name, text) of the bundled inputs: examples, small fixtures, lit-test chunks."""
    seeds = []
    for folder in ("examples", "test/fixtures"):
        for path in sorted((ROOT / folder).glob("*.mlir")):
            if path.stat().st_size <= MAX_SEED_BYTES:
                seeds.append((str(path.relative_to(ROOT)), path.read_text()))
    for folder in ("test/Passes", "test/Conversion", "test/Dialect"):
        for path in sorted((ROOT / folder).glob("*.mlir")):
            for i, chunk in enumerate(re.split(r"^// -----\s*$", path.read_text(), flags=re.M)):
                if "func.func" in chunk:
                    seeds.append((f"{path.relative_to(ROOT)}#{i}", chunk))
    return seeds


def random_head(rng: random.Random) -> HeadSpec:
    """A head in a random combination of the spellings `HeadSpec` knows."""
    d_k = rng.choice((1, 2, 3, 4, 8))
    heads = rng.choice((1, 1, 2, 3))
    return HeadSpec(seq=rng.choice((1, 2, 3, 5, 8, 16)), d_model=rng.choice((1, 2, 4, 6, 8, 16)),
                    d_k=d_k, heads=heads, scale=rng.choice(SCALES),
                    k_transposed=rng.random() < 0.5, weights_out_in=rng.random() < 0.5,
                    out_proj=rng.random() < 0.5, rotary=rng.random() < 0.5,
                    seed=rng.randrange(1000), scale_f64=rng.random() < 0.5,
                    row_max=rng.choice(ROW_MAXES), normalise=rng.choice(NORMALISATIONS),
                    mask=rng.choice(MASKS), interleaved_qkv=rng.random() < 0.25)


@dataclass
class Case:
    name: str
    text: str
    head: HeadSpec | None = None  # generated heads have a float64 reference


def make_case(index: int, seed: int, seeds) -> Case:
    """Case `index` of the run seeded `seed`: the same case whatever the number of jobs."""
    rng = random.Random(f"{seed}:{index}")
    if rng.random() < 0.3:
        spec = random_head(rng)
        text = head_module(spec)
        if rng.random() < 0.25:  # a head with a mutation: no reference any more
            text, names = mutate(text, rng)
            return Case(f"{index:05d}-head-{'+'.join(names)}", text)
        return Case(f"{index:05d}-head", text, spec)
    name, text = rng.choice(seeds)
    text, names = mutate(text, rng)
    return Case(f"{index:05d}-{Path(name.split('#')[0]).stem}-{'+'.join(names)}", text)


# --- one case --------------------------------------------------------------------------------

_PUBLIC = re.compile(r"func\.func\s+(?!private)@([\w.$-]+)\s*\(")


def _compare(a: dict, b: dict) -> str | None:
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            return f"{key} missing"
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        if x.shape != y.shape:
            return f"{key}: shape {x.shape} vs {y.shape}"
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            continue  # inf/nan: reordered arithmetic may legitimately differ
        if x.size and np.max(np.abs(x - y)) > ATOL + RTOL * max(1.0, float(np.max(np.abs(y)))):
            return f"{key}: max |error| {float(np.max(np.abs(x - y))):.3g}"
    return None


def _load(path: Path) -> dict:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def run_case(case: Case, workdir: Path, timeout: float) -> Outcome:
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "input.mlir"
    source.write_bytes(case.text.encode("utf-8", "surrogateescape"))
    steps = []

    def tool(name, *argv):
        run = run_tool(name, [str(a) for a in argv], timeout)
        steps.append(run)
        return run

    parsed = tool("attn-opt", source)
    if parsed.kind() != "success":
        return Outcome(parsed.kind(), parsed.stderr[-2000:], steps)
    optimized = workdir / "optimized.mlir"
    for run in (tool("attn-opt", source, "--attn-optimize", "-o", optimized),
                tool("attn-opt", source, "--attn-to-llvm", "-o", os.devnull)):
        if run.kind() in BAD:
            return Outcome(run.kind(), run.stderr[-2000:], steps)
    publics = _PUBLIC.findall(case.text)
    if not publics or not optimized.exists():
        return Outcome("success" if optimized.exists() else "diagnostic", "", steps)
    entry = publics[0]
    inputs = []
    if case.head is not None:
        x = np.random.default_rng(0).standard_normal((case.head.seq, case.head.d_model))
        np.savez(workdir / "inputs.npz", arg0=x.astype(np.float32))
        inputs = ["--inputs", workdir / "inputs.npz"]
    results = {}
    for key, path, lowering in (("default", source, None),
                                ("loops", source, "builtin.module(attn-to-llvm{schedule=loops})"),
                                ("optimized", optimized, None)):
        out = workdir / f"{key}.npz"
        argv = [path, "--entry", entry, "-q", "--output", out] + inputs
        if lowering:
            argv += ["--lowering", lowering]
        run = tool("attn-run", *argv)
        if run.kind() in BAD:
            return Outcome(run.kind(), f"attn-run ({key}): " + run.stderr[-2000:], steps)
        if run.kind() != "success":
            return Outcome("diagnostic" if key == "default" else "internal",
                           f"attn-run ({key}) failed where the default lowering ran: "
                           + run.stderr[-2000:], steps)
        results[key] = _load(out)
    for key in ("loops", "optimized"):
        if problem := _compare(results[key], results["default"]):
            return Outcome("mismatch", f"{key} vs default: {problem}", steps)
    if case.head is not None:
        want = {"result0": head_reference(case.head, _load(workdir / "inputs.npz")["arg0"])}
        if problem := _compare(results["default"], want):
            return Outcome("mismatch", f"default vs numpy reference: {problem}", steps)
    return Outcome("success", "", steps)


def _write_reproducer(out: Path, case: Case, outcome: Outcome, workdir: Path) -> Path:
    folder = out / f"{case.name[:80]}-{outcome.kind}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.mlir").write_bytes(case.text.encode("utf-8", "surrogateescape"))
    if (workdir / "inputs.npz").exists():
        (folder / "inputs.npz").write_bytes((workdir / "inputs.npz").read_bytes())
    lines = [f"outcome: {outcome.kind}", f"detail: {outcome.detail}"]
    if case.head is not None:
        lines.append(f"head: {case.head}")
    for step in outcome.steps:
        lines += ["", "$ " + " ".join(str(a) for a in step.argv), f"exit: {step.code}",
                  step.stderr.rstrip()]
    (folder / "README.txt").write_text("\n".join(lines) + "\n")
    return folder


# --- the command -----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from ..tools.common import (ArgumentParser, non_negative_float, non_negative_int,
                                positive_int)

    p = ArgumentParser(prog="python -m attn_mlir.fuzz",
                       description="Fuzz attn-opt and attn-run with mutated and generated inputs.")
    p.add_argument("--cases", type=non_negative_int, default=200, help="cases to run (default 200)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="fuzz-out", metavar="DIR",
                   help="folder for reproducers of failing cases (default fuzz-out)")
    p.add_argument("--timeout", type=non_negative_float, default=120.0, metavar="T",
                   help="seconds each tool run may take (default 120)")
    p.add_argument("--time-limit", type=non_negative_float, default=0.0, metavar="S",
                   help="stop starting new cases after S seconds (0: no limit)")
    p.add_argument("-j", "--jobs", type=positive_int, default=1, metavar="N",
                   help="run cases in N forked workers (default 1)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every case's outcome")
    return p


def _run_cases(args, seeds, indices, report) -> None:
    """Run the cases `indices`; report(name, kind, detail, folder) for each."""
    out = Path(args.out)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="attn-fuzz-") as tmp:
        for index in indices:
            if args.time_limit and time.monotonic() - start > args.time_limit:
                break
            case = make_case(index, args.seed, seeds)
            workdir = Path(tmp) / str(index)
            outcome = run_case(case, workdir, args.timeout)
            folder = None
            if outcome.kind in BAD:
                folder = str(_write_reproducer(out, case, outcome, workdir))
            report(case.name, outcome.kind, outcome.detail.strip()[:300], folder)
            shutil.rmtree(workdir, ignore_errors=True)


def _in_workers(args, seeds, report) -> None:
    """Split the cases over args.jobs forked workers; each sends one JSON line a case."""
    workers = []
    for job in range(args.jobs):
        read, write = os.pipe()
        pid = _fork()
        if pid == 0:
            code = 0
            try:
                os.close(read)
                sink = os.fdopen(write, "w", buffering=1)

                def send(*fields):
                    sink.write(json.dumps(fields) + "\n")

                _run_cases(args, seeds, range(job, args.cases, args.jobs), send)
                sink.close()
            except BaseException:  # noqa: BLE001 - a worker must never return into main
                code = 1
            finally:
                os._exit(code)
        os.close(write)
        workers.append((pid, read))
    # All pipes are drained as lines arrive: a worker whose pipe filled up would block.
    pending = {read: (pid, b"") for pid, read in workers}
    with selectors.DefaultSelector() as selector:
        for read in pending:
            selector.register(read, selectors.EVENT_READ)
        while pending:
            for key, _ in selector.select():
                pid, buffered = pending[key.fd]
                chunk = os.read(key.fd, 65536)
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    report(*json.loads(line))
                if chunk:
                    pending[key.fd] = (pid, buffered)
                    continue
                selector.unregister(key.fd)
                os.close(key.fd)
                del pending[key.fd]
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    report(f"worker {pid}", "internal",
                           f"the fuzz worker exited with status {status}", None)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    seeds = seed_texts()
    counts: Counter = Counter()
    failures = []

    def report(name, kind, detail, folder):
        counts[kind] += 1
        if kind in BAD:
            failures.append(folder)
            print(f"{name}: {kind}: {detail} -> {folder}", flush=True)
        elif args.verbose:
            print(f"{name}: {kind}", flush=True)

    start = time.monotonic()
    if args.jobs > 1:
        _in_workers(args, seeds, report)
    else:
        _run_cases(args, seeds, range(args.cases), report)
    total = sum(counts.values())
    elapsed = time.monotonic() - start
    summary = {"cases": total, "seconds": round(elapsed, 1), **{k: counts.get(k, 0) for k in
               ("diagnostic", "success", "internal", "signal", "timeout", "mismatch")}}
    print(json.dumps(summary))
    return 1 if failures else 0
