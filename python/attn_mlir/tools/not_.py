"""`not CMD...`: succeed exactly when CMD fails with a normal exit code, as LLVM's `not`.

A crash (death by signal) is still a failure, so an abort can never pass a test.
"""

import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: not CMD [ARGS...]", file=sys.stderr)
        return 2
    code = subprocess.call(sys.argv[1:])
    if code < 0:  # killed by a signal: an abort or a crash
        return 1
    return 0 if code != 0 else 1


if __name__ == "__main__":
    sys.exit(main())
