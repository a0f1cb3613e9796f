"""Every `.mlir` file of the repository survives attn-opt: parse -> print -> parse -> print.

Chunks (of `--split-input-file` tests) that expect an error are left out: they
are meant not to parse or not to verify. Both examples, lowered by
`attn-opt -p 'builtin.module(attn-to-llvm)'`, must be accepted by
`mlir-translate --mlir-to-llvmir`.
"""

import re
import subprocess
from pathlib import Path

import pytest

from attn_mlir.source import split_input
from attn_mlir.toolchain import mlir_tool
from attn_mlir.tools import attn_opt

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "Output", "build", "__pycache__"}


def _mlir_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.mlir")
                  if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts))


def _expects_error(text: str) -> bool:
    return any("expected-error" in line and "RUN:" not in line for line in text.splitlines())


_WEIGHTS = re.compile(r'attn\.weights = (\[[^\]]*\]|"[^"]*")')


def _absolute_weights(text: str, folder: Path) -> str:
    """Weights files named relative to the file, made absolute (the copy lives elsewhere)."""
    def absolute(match):
        return re.sub(r'"([^"]*)"', lambda m: f'"{(folder / m.group(1)).resolve()}"', match.group(0))
    return _WEIGHTS.sub(absolute, text)


def _parsable_text(path: Path) -> str:
    """The file, less the chunks that expect an error."""
    text = _absolute_weights(path.read_text(), path.parent)
    if "--split-input-file" not in text:
        return "" if _expects_error(text) else text
    chunks = [c.text for c in split_input(text, True) if not _expects_error(c.text)]
    return "\n// -----\n".join(chunks)


def _opt(capsys, *argv) -> str:
    capsys.readouterr()
    status = attn_opt.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


@pytest.mark.parametrize("path", _mlir_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_roundtrip(path, tmp_path, capsys):
    text = _parsable_text(path)
    if not text.strip():
        pytest.skip("every chunk expects an error")
    source = tmp_path / "source.mlir"
    source.write_text(text)
    split = ["--split-input-file"] if "// -----" in text else []
    first = tmp_path / "first.mlir"
    first.write_text(_opt(capsys, source, *split))
    assert _opt(capsys, first, *split) == first.read_text()
    generic = tmp_path / "generic.mlir"
    generic.write_text(_opt(capsys, source, *split, "--mlir-print-op-generic"))
    assert _opt(capsys, generic, *split) == first.read_text()


@pytest.mark.parametrize("name", ["mini_attention", "single_head_512"])
def test_lowered_example_translates_to_llvm_ir(name, capsys):
    lowered = _opt(capsys, ROOT / "examples" / f"{name}.mlir", "-p", "builtin.module(attn-to-llvm)")
    done = subprocess.run([str(mlir_tool("mlir-translate")), "--mlir-to-llvmir"], input=lowered,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "define void @_mlir_ciface_attention(" in done.stdout
