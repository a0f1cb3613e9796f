"""What the command-line tools share: error reporting and output files."""

from __future__ import annotations

import os
import sys
import tempfile

from ..diagnostics import AttnError


def report(err: AttnError) -> int:
    """Print diagnostics one per line on stderr; return the exit code (2 = usage)."""
    for d in err.diagnostics:
        print(d.format(), file=sys.stderr)
    return 2 if err.usage else 1


def write_output(path: str, text: str) -> None:
    """Write `text` to `path` ('-' = stdout) atomically: a failure leaves no half file."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".attn-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
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
