"""What the command-line tools share: error reporting and output files."""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
import tempfile
import traceback

from ..diagnostics import AttnError, one_line, traceback_wanted


class ArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit code 2), as mlir-opt reports them.

    Flags are matched exactly: a prefix (`--attn-to` for `--attn-to-llvm`) is an error.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def report(err: AttnError) -> int:
    """Print diagnostics one per line on stderr; return the exit code (2 = usage)."""
    for d in err.diagnostics:
        print(one_line(d).format(), file=sys.stderr)
    return 2 if err.usage else 1


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: '{text}'") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def check_output_path(path: str) -> None:
    """Fail before any work when an output path cannot name a file (a directory)."""
    if path != "-" and os.path.isdir(path):
        raise AttnError(f"cannot write output file '{path}': is a directory")


def write_output(path: str, text: str) -> None:
    """Write `text` to `path` ('-' = stdout) atomically: a failure leaves no half file."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """Write `data` to exactly `path` atomically.

    The bytes go to a temporary file beside the target, which then replaces it
    (keeping the target's permissions; a symlink's target is what gets replaced).
    """
    check_output_path(path)
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
        if not stat.S_ISREG(st.st_mode):  # /dev/null, a pipe: write to it, never replace it
            with open(target, "wb") as f:
                f.write(data)
            return
        mode = st.st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as e:
        raise AttnError(f"cannot write output file '{path}': {e.strerror or e}") from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".attn-", dir=os.path.dirname(target))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise AttnError(f"cannot write output file '{path}': {e.strerror or e}") from None


def run_main(body) -> int:
    """Run a tool body, turning AttnError into diagnostics and Ctrl-C into exit 130."""
    try:
        return body()
    except AttnError as e:
        return report(e)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print("error: out of memory (the input needs more memory than this machine has)",
              file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line for users; ATTN_MLIR_TRACEBACK=1 shows it all
        if traceback_wanted():
            traceback.print_exc()
        print(f"error: internal error: {type(e).__name__}: {e} "
              "(set ATTN_MLIR_TRACEBACK=1 for details)", file=sys.stderr)
        return 1

