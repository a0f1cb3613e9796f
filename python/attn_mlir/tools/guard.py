"""The guarded child: a tool's work runs in a forked process, so an abort in MLIR or
LLVM (an assertion, a segfault) becomes one diagnostic and exit code 1 instead of a
dead process.

The child inherits stdin and stdout (results and `-o` files are written by the child,
atomically as before) and Python's `sys.stderr`, so diagnostics stream as before. Only
file descriptor 2, where MLIR and LLVM write (assertions, stack dumps, IR printing,
timings), goes to a temporary file the parent copies out, so the raw assertion text and
stack dump of a crash can be replaced by

    FILE: error: the compiler crashed (signal 6, SIGABRT) while STAGE

The child reports its stage (parsing, running pass X, compiling, ...) through a pipe,
see `diagnostics.stage`. When it crashes while parsing, the parent asks upstream
`mlir-opt` (which prints the located parser error before its own assertion) for the
located error. Set ATTN_MLIR_NO_GUARD=1 to run in one process (for debuggers).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from .. import diagnostics
from .common import run_main

# Lines of an LLVM crash report: the assertion itself and the stack dump that follows.
_ASSERTION = re.compile(r"^.*?: (?P<where>[^:]+:\d+): .*Assertion `(?P<what>.*)' failed\.$")
_NOISE = re.compile(r"^(PLEASE submit a bug report|Stack dump|\s*#\d+ 0x|\s*\d+\.\s|"
                    r"Program arguments:|Stack dump without symbol names|LLVM ERROR: )")


def _is_real(stream, fd: int) -> bool:
    """Whether `stream` writes to file descriptor `fd` (not a capture object, as in tests)."""
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


def run_guarded(body, input_name: str) -> int:
    """Run `body` (a tool's main after argument parsing) in a forked child; return its exit code.

    When sys.stdout or sys.stderr is not the process's own stream (a tool's main called
    from Python with its output captured), the child's output is relayed through
    temporary files instead of being written by the child.
    """
    if os.environ.get("ATTN_MLIR_NO_GUARD") or not hasattr(os, "fork"):
        return run_main(body)
    relay_out = None if _is_real(sys.stdout, 1) else tempfile.TemporaryFile()
    relay_err = None if _is_real(sys.stderr, 2) else tempfile.TemporaryFile()
    read_end, write_end = os.pipe()
    err = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: do the work, report progress, never return
        code = 1
        try:
            os.close(read_end)
            python_stderr = os.dup(relay_err.fileno() if relay_err else 2)
            os.dup2(err.fileno(), 2)
            sys.stderr = open(python_stderr, "w", encoding="utf-8", errors="backslashreplace",
                              buffering=1)
            if relay_out is not None:
                sys.stdout = open(os.dup(relay_out.fileno()), "w", encoding="utf-8")
            diagnostics.progress_fd = write_end
            code = run_main(body)
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001 (a closed pipe must not change the exit code)
                pass
            os._exit(code)
    os.close(write_end)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the child answers 130
    try:
        progress = _read_all(read_end)
        _, status = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGINT, previous)
        os.close(read_end)
    for relay, stream in ((relay_out, sys.stdout), (relay_err, sys.stderr)):
        if relay is not None:
            relay.seek(0)
            stream.write(relay.read().decode("utf-8", "replace"))
            relay.close()
    err.seek(0)
    captured = err.read().decode("utf-8", "replace")
    err.close()
    stage, sources = "starting", []
    for line in progress.splitlines():
        kind, _, text = line.partition(" ")
        if kind == "stage":
            stage = text
        elif kind == "source":
            sources.append(text.split("\t", 1))
    if not os.WIFSIGNALED(status):
        sys.stderr.write(captured)
        sys.stderr.flush()
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    _report_crash(os.WTERMSIG(status), stage, captured, sources, input_name)
    return 1


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks).decode("utf-8", "replace")
        chunks.append(chunk)


def _report_crash(signum: int, stage: str, captured: str, sources, input_name: str) -> None:
    kept, assertion = [], None
    for line in captured.splitlines():
        if m := _ASSERTION.match(line):
            assertion = f"{m['what']} ({m['where']})"
        elif not _NOISE.match(line):
            kept.append(line)
    if kept:
        sys.stderr.write("\n".join(kept) + "\n")
    located = []
    if stage.startswith("parsing") and sources:
        located = _upstream_parse_errors(*sources[-1])
    for line in located:
        print(line, file=sys.stderr)
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = "unknown signal"
    print(f"{input_name}: error: the compiler crashed (signal {signum}, {name}) while {stage}",
          file=sys.stderr)
    if assertion:
        print(f"{input_name}: note: MLIR assertion failed: {assertion}", file=sys.stderr)
    for path, _ in sources:  # the crashed child could not remove its temporary copies
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _upstream_parse_errors(path: str, name: str) -> list[str]:
    """The located errors upstream mlir-opt prints for the file our parser crashed on."""
    try:
        from ..context import DIALECT_FILE
        from ..toolchain import mlir_tool

        tool = str(mlir_tool("mlir-opt"))
        done = subprocess.run([tool, f"--irdl-file={DIALECT_FILE}", path], capture_output=True,
                              text=True, errors="replace", timeout=60)
    except (OSError, subprocess.SubprocessError, LookupError):
        return []
    prefix = path + ":"
    return [name + line[len(path):] for line in done.stderr.splitlines()
            if line.startswith(prefix) and ": error: " in line]
