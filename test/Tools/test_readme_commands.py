"""The README's commands: the Quick start works in a fresh shell, the rest after activation.

CI (.ci/run) runs every command through tools/check_readme.py; here the
extraction is checked, and the commands that pipe into the upstream tools
(the mlir-opt / mlir-translate console scripts) run in this environment.
"""

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.path.dirname(sys.executable)

_spec = importlib.util.spec_from_file_location("check_readme", ROOT / "tools" / "check_readme.py")
check_readme = importlib.util.module_from_spec(_spec)
sys.modules["check_readme"] = check_readme  # dataclasses look the module up
_spec.loader.exec_module(check_readme)

COMMANDS = check_readme.commands(ROOT / "README.md")
QUICK_START = [c for c in COMMANDS if c.quick_start]


def test_quick_start_needs_no_active_environment():
    assert len(QUICK_START) >= 2
    install, tests = QUICK_START[0], QUICK_START[1]
    assert install.text.startswith("python3 -m venv .venv && ")
    assert "pip install -e '.[test]'" in install.text and "examples/mini_attention.py" in install.text
    assert "pytest" in tests.text
    for command in QUICK_START[:2]:
        for segment in command.text.split("&&"):
            program = shlex.split(segment)[0]
            # Each program is the system python3 or one of the venv's, named by its path.
            assert program == "python3" or program.startswith(".venv/bin/"), command.text


def test_other_commands_run_after_activation():
    assert check_readme.ACTIVATE in [c.text for c in QUICK_START]
    runnable = [c.text for c in COMMANDS if not c.quick_start and check_readme.skip_reason(c) is None]
    assert any("| mlir-translate --mlir-to-llvmir" in text for text in runnable)


@pytest.mark.parametrize("text, reason", [
    ("attn-run FILE [--entry NAME] [-q]", "synopsis"),
    ("attn-opt model.mlir --attn-optimize", "example name"),
    ("pip install torch==2.13.0", "install"),
    ("no-such-tool-xyz --help", "not installed"),
])
def test_illustrative_commands_are_skipped(text, reason):
    assert reason in check_readme.skip_reason(check_readme.Command("Tools", 1, text))


def test_outputs_need_not_exist():
    command = check_readme.Command("AOT", 1, "attn-compile examples/mini_attention.mlir -o "
                                             "build/libmini.so")
    assert check_readme.skip_reason(command) is None


def test_clean_environment_has_no_venv(monkeypatch):
    venv = ROOT / ".venv"
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv / "bin"), BIN, "/usr/bin", "/bin"]))
    env = check_readme.clean_environment()
    assert "VIRTUAL_ENV" not in env
    path = env["PATH"].split(os.pathsep)
    assert str(venv / "bin") not in path and "/usr/bin" in path
    if sys.prefix != sys.base_prefix:  # this interpreter is a venv's: its bin goes too
        assert BIN not in path


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.quick_start and "| mlir-" in c.text
                                     and check_readme.skip_reason(c) is None],
                         ids=lambda c: f"README.md:{c.line}")
def test_piped_command_runs(command):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command.text], cwd=ROOT, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


@pytest.mark.parametrize("tool, expect", [("mlir-opt", "MLIR modular optimizer"),
                                          ("mlir-translate", "MLIR Translation Testing Tool"),
                                          ("FileCheck", "LLVM version 22")])
def test_shims_run_the_pinned_tools(tool, expect):
    flag = "--version" if tool == "FileCheck" else "--help"
    done = subprocess.run([os.path.join(BIN, tool), flag], capture_output=True, text=True)
    assert done.returncode == 0 and expect in done.stdout, done.stdout[:500] + done.stderr


def test_shim_passes_exit_codes_and_stdin():
    done = subprocess.run([os.path.join(BIN, "FileCheck"), "/dev/stdin", "--input-file",
                           str(ROOT / "README.md")], input="CHECK: no such line in the README\n",
                          capture_output=True, text=True)
    assert done.returncode == 1 and "error: CHECK: expected string not found" in done.stderr
