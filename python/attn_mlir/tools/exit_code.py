"""`exit_code CMD...`: run CMD, then print `exit N` (or `signal N`) and succeed.

For lit tests that check a tool's exit code with FileCheck
(`%exit_code %attn_opt ... 2>&1 | FileCheck`), which lit's own shell cannot
do with `; echo $?`.
"""

import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: exit_code CMD [ARGS...]", file=sys.stderr)
        return 2
    sys.stdout.flush()
    code = subprocess.call(sys.argv[1:])
    print(f"signal {-code}" if code < 0 else f"exit {code}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
