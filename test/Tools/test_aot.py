"""attn-compile: shared libraries called through their C header, against numpy and PyTorch."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attn_mlir.reference import attention_head
from attn_mlir.testing.library import call_library
from attn_mlir.toolchain import llvm_tool

ROOT = Path(__file__).resolve().parents[2]
BIN = os.path.dirname(sys.executable)
ATTN_COMPILE = shutil.which("attn-compile", path=BIN) or shutil.which("attn-compile")
CC = os.environ.get("CC") or shutil.which("cc")

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc) to link shared libraries")

# A projection big enough for the cpu schedule to run it on OpenMP threads
# (>= 8 Mflop), and a second public function: two C entries in one library.
TWO_ENTRIES = """
func.func @proj(%x: tensor<128x256xf32>, %w: tensor<256x128xf32>) -> tensor<128x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %r = linalg.matmul ins(%x, %w : tensor<128x256xf32>, tensor<256x128xf32>) outs(%z : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %r : tensor<128x128xf32>
}
func.func @add_sub(%a: tensor<3x5xf32>, %b: tensor<3x5xf32>) -> (tensor<3x5xf32>, tensor<3x5xf32>) {
  %e = tensor.empty() : tensor<3x5xf32>
  %s = linalg.add ins(%a, %b : tensor<3x5xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %d = linalg.sub ins(%a, %b : tensor<3x5xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %s, %d : tensor<3x5xf32>, tensor<3x5xf32>
}
"""


def _compile(*args):
    return subprocess.run([ATTN_COMPILE, *map(str, args)], capture_output=True, text=True)


def _elf(tool, *args):
    done = subprocess.run([str(llvm_tool(tool)), *map(str, args)], capture_output=True,
                          text=True, check=True)
    return done.stdout


def _needed(lib):
    return {line.split("[")[1].rstrip("]") for line in _elf("llvm-readelf", "-d", lib).splitlines()
            if "(NEEDED)" in line}


def _call(tmp_path, lib, entry, args, result_shapes):
    """Call `entry` of `lib` on float32 `args` in a child process (its own OpenMP runtime)."""
    return call_library(tmp_path, lib, entry, args, result_shapes)


@pytest.fixture(scope="module")
def two_entries(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    (out / "two.mlir").write_text(TWO_ENTRIES)
    done = _compile(out / "two.mlir", "--threads", "2", "-o", out / "libtwo.so")
    assert done.returncode == 0, done.stderr
    return out


def test_header_declares_every_public_entry(two_entries):
    header = (two_entries / "two.h").read_text()
    assert "void proj(const float *arg0, const float *arg1, float *result0);" in header
    assert "void add_sub(const float *arg0, const float *arg1, float *result0, float *result1);" \
        in header
    assert "arg0: float[128][256]  (tensor<128x256xf32>), input" in header
    assert "#define ADD_SUB_RESULT1_ELEMENTS 15" in header
    exported = _elf("llvm-nm", "-D", "--defined-only", "-j", two_entries / "libtwo.so").split()
    assert sorted(exported) == ["add_sub", "proj"]  # the MLIR functions stay hidden


def test_threaded_library_needs_only_libc_libm_openmp(two_entries):
    lib = two_entries / "libtwo.so"
    assert _needed(lib) <= {"libc.so.6", "libm.so.6", "libiomp5.so"}
    assert "libiomp5.so" in _needed(lib)
    assert "[$ORIGIN]" in _elf("llvm-readelf", "-d", lib)
    assert (two_entries / "libiomp5.so").exists()


def test_library_results_match_numpy(two_entries, tmp_path):
    lib = two_entries / "libtwo.so"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 256)).astype(np.float32)
    w = rng.standard_normal((256, 128)).astype(np.float32)
    [out] = _call(tmp_path, lib, "proj", [x, w], [(128, 128)])
    np.testing.assert_allclose(out, x.astype(np.float64) @ w, rtol=1e-4, atol=1e-3)
    a, b = rng.standard_normal((2, 3, 5)).astype(np.float32)
    s, d = _call(tmp_path, lib, "add_sub", [a, b], [(3, 5), (3, 5)])
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(d, a - b)


def test_host_library_copies_with_the_c_librarys_memcpy(tmp_path):
    """Without a target triple `opt` knows no C library and expands each contiguous
    copy into a byte-by-byte loop (a decode step with a KV-cache concat ran 1.5x slower): the host's
    triple is given by default."""
    (tmp_path / "same.mlir").write_text("""
func.func @same(%a: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  return %a : tensor<64x1024xf32>
}
""")
    done = _compile(tmp_path / "same.mlir", "--threads", "1", "-o", tmp_path / "libsame.so")
    assert done.returncode == 0, done.stderr
    assert "memcpy" in _elf("llvm-nm", "--undefined-only", "-j", tmp_path / "libsame.so")
    a = np.random.default_rng(0).standard_normal((64, 1024)).astype(np.float32)
    [out] = _call(tmp_path, tmp_path / "libsame.so", "same", [a], [(64, 1024)])
    np.testing.assert_array_equal(out, a)


def test_single_threaded_cross_target_has_no_avx512(tmp_path):
    (tmp_path / "head.mlir").write_text((ROOT / "examples" / "single_head_512.mlir").read_text())
    done = _compile(tmp_path / "head.mlir", "--threads", "1", "--entry", "attention",
                    "--target-triple", "x86_64-unknown-linux-gnu", "--target-cpu", "x86-64-v3",
                    "-o", tmp_path / "libhead.so")
    assert done.returncode == 0, done.stderr
    lib = tmp_path / "libhead.so"
    assert _needed(lib) <= {"libc.so.6", "libm.so.6"}
    assert not (tmp_path / "libiomp5.so").exists()
    disassembly = _elf("llvm-objdump", "-d", "--no-show-raw-insn", lib)
    assert "ymm" in disassembly and "zmm" not in disassembly
    if "avx2" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("this CPU cannot run x86-64-v3 code")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((512, 512)).astype(np.float32)
    wq, wk, wv = (rng.standard_normal((3, 512, 64)) / np.sqrt(512)).astype(np.float32)
    [out] = _call(tmp_path, lib, "attention", [x, wq, wk, wv], [(512, 64)])
    np.testing.assert_allclose(out, attention_head(x, wq, wk, wv, scale=0.125),
                               rtol=1e-4, atol=1e-4)


def test_example_matches_pytorch_and_detects_a_mismatch(tmp_path):
    env = dict(os.environ, BUILD_DIR=str(tmp_path), PATH=BIN + os.pathsep + os.environ["PATH"])
    done = subprocess.run([ROOT / "examples" / "aot" / "run.sh"], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "vs the reference: OK" in done.stdout
    # Weights are constants: they live in read-only data (4 projections of 64x64 floats).
    sections = _elf("llvm-readelf", "-S", "-W", tmp_path / "libmha.so")
    rodata = [line for line in sections.splitlines() if " .rodata " in line]
    assert rodata and int(rodata[0].split()[5], 16) >= 4 * 64 * 64 * 4
    assert not any(" .data " in line and int(line.split()[5], 16) > 4096
                   for line in sections.splitlines())
    wrong = np.fromfile(ROOT / "examples" / "aot" / "expected.bin", np.float32)
    wrong[17] += 1e-2
    wrong.tofile(tmp_path / "wrong.bin")
    done = subprocess.run([tmp_path / "main", ROOT / "examples" / "aot" / "input.bin",
                           tmp_path / "wrong.bin"], capture_output=True, text=True)
    assert done.returncode == 1 and "MISMATCH" in done.stdout


@pytest.mark.parametrize("text, args, message", [
    ("func.func @f(%a: tensor<?xf32>) -> tensor<4xf32> {\n  %c = arith.constant dense<1.0> : "
     "tensor<4xf32>\n  return %c : tensor<4xf32>\n}\n", [],
     "argument 0 of @f has a dynamic shape (tensor<?xf32>); the shared library needs static shapes"),
    (TWO_ENTRIES, ["--entry", "nope"], "no public function @nope in the module"),
    ("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %b : tensor<4xf32>\n}\n", [],
     "in.mlir:2:"),
])
def test_bad_input_is_one_error_line(tmp_path, text, args, message):
    (tmp_path / "in.mlir").write_text(text)
    done = _compile(tmp_path / "in.mlir", *args, "-o", tmp_path / "libx.so")
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "libx.so").exists()


def test_library_name_must_name_a_header(tmp_path):
    (tmp_path / "in.mlir").write_text(TWO_ENTRIES)
    done = _compile(tmp_path / "in.mlir", "-o", tmp_path / "lib-x.so")
    assert done.returncode == 2 and "C identifier" in done.stderr
