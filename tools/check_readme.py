#!/usr/bin/env python3
"""Run the README's shell commands as a new user would type them.

    python3 tools/check_readme.py [--list] [--quick-start-only | --skip-quick-start]
                                  [--grep TEXT] [--readme README.md]

Every line of every ```sh block in README.md is a command (a trailing `\\`
joins lines). Two kinds:

* the "Quick start" section's commands run verbatim, each in a fresh
  `bash` with a clean environment: no virtual environment active (VIRTUAL_ENV
  unset, no venv directory on PATH), in the repository root;
* every other command runs after `. .venv/bin/activate`, as the Quick start
  says, unless it is illustrative: a usage synopsis (`[--flag X]`, an
  upper-case placeholder such as FILE), an input file that does not exist
  (`model.mlir`), an install (only the Quick start installs), or a tool that
  is not installed (cmake).

Each command's status is printed; the exit code is 1 on the first failure.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK_START = "Quick start"
ACTIVATE = ". .venv/bin/activate"

_PLACEHOLDER = re.compile(r"(?<![\w.-])[A-Z][A-Z_]+(?![\w.-])")
_INPUT_SUFFIXES = (".mlir", ".npz", ".py", ".sh", ".bin", ".c")
_OUTPUT_FLAGS = ("-o", "--output", "--out")


@dataclass(frozen=True)
class Command:
    section: str
    line: int  # 1-based line of README.md where the command starts
    text: str
    file: str = "README.md"

    @property
    def quick_start(self) -> bool:
        return self.section == QUICK_START


def commands(readme: Path) -> list[Command]:
    """The ```sh blocks' commands, with the `## ` section each is in."""
    found, section, in_block, pending, start = [], "", False, "", 0
    for number, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        if not in_block and line.startswith("## "):
            section = line[3:].strip()
        elif not in_block and line.strip() in ("```sh", "```bash", "```shell"):
            in_block = True
        elif in_block and line.strip().startswith("```"):
            in_block = False
        elif in_block:
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            if text and not text.startswith("#"):
                found.append(Command(section, start, text, readme.name))
    return found


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def skip_reason(command: Command) -> str | None:
    """Why a command outside the Quick start is illustrative (None: run it)."""
    text = command.text
    words = _words(text)
    if not words:
        return "empty"
    if re.search(r"\s\[-", text) or _PLACEHOLDER.search(" ".join(words)):
        return "a usage synopsis with placeholders"
    if "pip install" in text or words[0] in ("pip", "pip3") or text.startswith("python3 -m venv"):
        return "an install (only the Quick start installs)"
    program = words[0]
    if program not in (".", "source") and "/" not in program and shutil.which(program) is None \
            and not (ROOT / ".venv" / "bin" / program).exists():
        return f"{program} is not installed"
    previous = ""
    for word in words:
        value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if (value.endswith(_INPUT_SUFFIXES) and previous not in _OUTPUT_FLAGS
                and not (ROOT / value).exists()):
            return f"'{value}' is an example name, not a file of the repository"
        previous = word
    return None


def clean_environment() -> dict:
    """The environment of a new shell: no virtual environment active."""
    env = dict(os.environ)
    venv = env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)
    dirs = env.get("PATH", "").split(os.pathsep)
    venv_bins = {str(Path(venv) / "bin")} if venv else set()
    venv_bins.add(str(ROOT / ".venv" / "bin"))
    # A directory holding a venv's python (pyvenv.cfg one level up) is also dropped.
    env["PATH"] = os.pathsep.join(
        d for d in dirs if d and d not in venv_bins and not (Path(d).parent / "pyvenv.cfg").exists())
    return env


def run(command: Command, env: dict) -> int:
    script = command.text if command.quick_start else f"{ACTIVATE} && {command.text}"
    print(f"{command.file}:{command.line}: $ {command.text}", flush=True)
    start = time.monotonic()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL)
    print(f"{command.file}:{command.line}: exit {done.returncode} "
          f"({time.monotonic() - start:.1f} s)", flush=True)
    return done.returncode


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("--list", action="store_true", help="print the commands and what would run")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--quick-start-only", action="store_true")
    which.add_argument("--skip-quick-start", action="store_true")
    p.add_argument("--grep", metavar="TEXT", help="only commands containing TEXT")
    args = p.parse_args(argv)

    selected = commands(args.readme)
    if not any(c.quick_start for c in selected):
        print(f"{args.readme}: error: no ```sh commands in a '## {QUICK_START}' section",
              file=sys.stderr)
        return 1
    if args.quick_start_only:
        selected = [c for c in selected if c.quick_start]
    if args.skip_quick_start:
        selected = [c for c in selected if not c.quick_start]
    if args.grep:
        selected = [c for c in selected if args.grep in c.text]
        if not selected:
            print(f"{args.readme}: error: no command contains '{args.grep}'", file=sys.stderr)
            return 1
    env = clean_environment()
    for command in selected:
        reason = None if command.quick_start else skip_reason(command)
        if args.list:
            kind = "verbatim" if command.quick_start else ("skip: " + reason if reason
                                                           else "after activation")
            print(f"{command.file}:{command.line}: [{kind}] {command.text}")
            continue
        if reason:
            print(f"{command.file}:{command.line}: skipped ({reason}): {command.text}")
            continue
        status = run(command, env)
        if status != 0:
            print(f"{command.file}:{command.line}: error: command failed with exit code {status}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
