"""What the command-line tools share: error reporting and output files."""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile

from ..diagnostics import AttnError


class ArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit code 2), as mlir-opt reports them."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def report(err: AttnError) -> int:
    """Print diagnostics one per line on stderr; return the exit code (2 = usage)."""
    for d in err.diagnostics:
        print(d.format(), file=sys.stderr)
    return 2 if err.usage else 1


def write_output(path: str, text: str) -> None:
    """Write `text` to `path` ('-' = stdout) atomically: a failure leaves no half file.

    The text goes to a temporary file beside the target, which then replaces it
    (keeping the target's permissions; a symlink's target is what gets replaced).
    """
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
        if not stat.S_ISREG(st.st_mode):  # /dev/null, a pipe: write to it, never replace it
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
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
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
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
    except Exception as e:  # a bug: still one line for users; ATTN_MLIR_TRACEBACK=1 shows it all
        if os.environ.get("ATTN_MLIR_TRACEBACK"):
            raise
        print(f"error: internal error: {type(e).__name__}: {e} "
              "(set ATTN_MLIR_TRACEBACK=1 for details)", file=sys.stderr)
        return 1
