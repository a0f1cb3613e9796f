"""The CLI tools run their work in a guarded child: a process-killing abort in MLIR,
LLVM or a pass becomes `FILE: error: the compiler crashed (signal N, NAME) while STAGE`
and exit code 1, with stdout and the exit code of normal runs unchanged."""

import subprocess
import sys
import textwrap

HEAD = """\
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
"""

# A driver that registers a pass which kills the process, then runs a tool's main.
DRIVER = textwrap.dedent("""\
    import os, signal, sys
    import attn_mlir as am

    @am.register_pass("test-abort", summary="Aborts the process.")
    def test_abort(op):
        os.abort()

    @am.register_pass("test-segfault", summary="Kills the process with SIGSEGV.")
    def test_segfault(op):
        os.kill(os.getpid(), signal.SIGSEGV)

    from attn_mlir.tools import attn_opt, attn_run
    tool = {"attn-opt": attn_opt, "attn-run": attn_run}[sys.argv[1]]
    sys.exit(tool.main(sys.argv[2:]))
""")


def _run(tmp_path, *args, stdin=None):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.run([sys.executable, str(driver), *args], capture_output=True, text=True,
                          input=stdin, timeout=600)


def test_abort_in_a_pass_is_reported(tmp_path):
    source = tmp_path / "head.mlir"
    source.write_text(HEAD)
    done = _run(tmp_path, "attn-opt", str(source), "--test-abort")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == (
        f"{source}: error: the compiler crashed (signal 6, SIGABRT) while running pass "
        "'test-abort'")


def test_segfault_from_stdin_is_reported(tmp_path):
    done = _run(tmp_path, "attn-opt", "-", "-p", "builtin.module(canonicalize,test-segfault)",
                stdin=HEAD)
    assert done.returncode == 1
    assert "<stdin>: error: the compiler crashed (signal 11, SIGSEGV) while running pass " \
           "'test-segfault'" in done.stderr
    assert "Traceback" not in done.stderr


def test_abort_before_attn_run_compiles(tmp_path):
    source = tmp_path / "head.mlir"
    source.write_text(HEAD)
    done = _run(tmp_path, "attn-run", str(source), "-p", "builtin.module(test-abort)")
    assert done.returncode == 1
    assert "error: the compiler crashed (signal 6, SIGABRT) while running pass 'test-abort'" \
        in done.stderr


def test_crash_leaves_the_output_file_alone(tmp_path):
    source = tmp_path / "head.mlir"
    source.write_text(HEAD)
    out = tmp_path / "out.mlir"
    out.write_text("before\n")
    done = _run(tmp_path, "attn-opt", str(source), "--test-abort", "-o", str(out))
    assert done.returncode == 1
    assert out.read_text() == "before\n"


def test_normal_runs_keep_stdout_and_exit_codes(tmp_path):
    source = tmp_path / "head.mlir"
    source.write_text(HEAD)
    done = _run(tmp_path, "attn-opt", str(source), "--canonicalize-nope")
    assert done.returncode == 2
    done = _run(tmp_path, "attn-opt", str(source))
    assert done.returncode == 0 and "func.func @f" in done.stdout and done.stderr == ""
