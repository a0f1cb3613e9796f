"""attn-opt's `-o`: the input may be the output, and a failure never touches either file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ATTN_OPT = shutil.which("attn-opt", path=os.path.dirname(sys.executable)) or shutil.which("attn-opt")

GOOD = """func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.add ins(%a, %a : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""
MASK = "func.func @g(%m: tensor<4xi1>) {\n  return\n}\n"


def _opt(*args, stdin=""):
    return subprocess.run([ATTN_OPT, *map(str, args)], input=stdin, capture_output=True, text=True)


def test_output_may_be_the_input(tmp_path):
    path = tmp_path / "in.mlir"
    path.write_text(GOOD)
    os.chmod(path, 0o640)
    done = _opt(path, "-p", "builtin.module(linalg-generalize-named-ops)", "-o", path)
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert "linalg.generic" in text and "linalg.add" not in text
    assert os.stat(path).st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert [p.name for p in tmp_path.iterdir()] == ["in.mlir"]  # no temporary left behind


@pytest.mark.parametrize("args", [
    ["--attn-to-llvm"],                             # a located error from a pass
    ["-p", "builtin.module(no-such-pass)"],         # a usage error
    ["--split-input-file", "--attn-to-llvm"],       # one of several chunks fails
])
def test_failure_leaves_input_and_output_alone(tmp_path, args):
    path = tmp_path / "in.mlir"
    original = GOOD + "\n// -----\n\n" + MASK
    path.write_text(original)
    out = tmp_path / "out.mlir"
    out.write_text("previous output\n")
    for target in (path, out):
        done = _opt(path, *args, "-o", target)
        assert done.returncode in (1, 2), done.stderr
        assert "Traceback" not in done.stderr
        assert path.read_text() == original
        assert out.read_text() == "previous output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mlir", "out.mlir"]


def test_output_into_missing_directory(tmp_path):
    done = _opt("-", "-o", tmp_path / "missing" / "out.mlir", stdin=GOOD)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: cannot write output file")


def test_output_to_a_special_file_writes_into_it(tmp_path):
    """`-o /dev/null` or a pipe is written to, never replaced by a regular file."""
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    done = _opt("-", "-o", fifo, stdin=GOOD)
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert "linalg.add" in received[0]
