"""attn-opt rejects every pass pipeline that upstream mlir-opt rejects, and accepts the
well-formed ones it accepts (compared on the same inputs, with the installed mlir-opt)."""

import subprocess

import pytest

from attn_mlir.toolchain import mlir_tool
from attn_mlir.tools import attn_opt

INPUT = "func.func @f() {\n  return\n}\n"

REJECTED = [
    "", "canonicalize", "builtin.modul(canonicalize)", "func.func(canonicalize)",
    "builtin.module(,)", "builtin.module(canonicalize,,cse)", "builtin.module(canonicalize,)",
    "builtin.module(cse))", "builtin.module(cse)(cse)", "builtin.module(cse),builtin.module(cse)",
    "builtin.module(cse{)", "builtin.module(cse{}})", "builtin.module(cse)foo",
    "builtin.module(func.func())", "builtin.module(func.func(cse),)",
    "builtin.module(func.func{a=1}(cse))", "builtin.module(cse{a=1})",
    "builtin.module(canonicalize{max-iterations=x})", "builtin.module(no-such-pass)",
    "builtin.module(canonicalize{max-iterations})", "builtin.module(canonicalize",
]
ACCEPTED = [
    "builtin.module(canonicalize)", " builtin.module( canonicalize , cse ) ",
    "builtin.module(func.func(canonicalize),cse)", "builtin.module()", "any(cse)",
    "builtin.module(canonicalize{max-iterations=2})",
]


def _mlir_opt(pipeline: str, path) -> int:
    return subprocess.run([str(mlir_tool("mlir-opt")), str(path), f"--pass-pipeline={pipeline}"],
                          capture_output=True, text=True, timeout=300).returncode


def _attn_opt(pipeline: str, path, monkeypatch, capsys) -> int:
    monkeypatch.setenv("ATTN_MLIR_NO_GUARD", "1")  # in this process: quicker, same parser
    code = attn_opt.main([str(path), f"--pass-pipeline={pipeline}"])
    capsys.readouterr()
    return code


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.mlir"
    path.write_text(INPUT)
    return path


@pytest.mark.parametrize("pipeline", REJECTED)
def test_both_reject(pipeline, source, monkeypatch, capsys):
    assert _mlir_opt(pipeline, source) != 0
    assert _attn_opt(pipeline, source, monkeypatch, capsys) == 2


@pytest.mark.parametrize("pipeline", ACCEPTED)
def test_both_accept(pipeline, source, monkeypatch, capsys):
    assert _mlir_opt(pipeline, source) == 0
    assert _attn_opt(pipeline, source, monkeypatch, capsys) == 0


def test_deep_nesting_is_an_error_not_a_recursion_error(source, monkeypatch, capsys):
    monkeypatch.setenv("ATTN_MLIR_NO_GUARD", "1")
    pipeline = "builtin.module(" * 500 + "cse" + ")" * 500
    assert attn_opt.main([str(source), "-p", pipeline]) == 2
    err = capsys.readouterr().err
    assert "pass pipeline nested more than 64 levels deep" in err
    assert "Recursion" not in err and "internal error" not in err
