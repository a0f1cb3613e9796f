#!/usr/bin/env bash
# Ahead-of-time compile an attention layer into a shared library, call it from C,
# and check the result against PyTorch's.
#
# The layer is test/fixtures/llama_mha.mlir (torch-mlir output of a 4-head Llama
# attention with RoPE and o_proj; its weights are constants, so they end up in the
# library's read-only data). input.bin and expected.bin are that fixture's input
# and PyTorch output as raw float32. Exit code 0 only when the output matches.
#
# Needs attn-compile (the project's venv; found on PATH or in .venv/bin) and a C
# compiler (cc, or $CC). Builds into examples/aot/build (or $BUILD_DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$here/build}"
compile="$(command -v attn-compile || echo "$root/.venv/bin/attn-compile")"
mkdir -p "$build"

"$compile" "$root/test/fixtures/llama_mha.mlir" -p 'builtin.module(attn-optimize)' \
  -o "$build/libmha.so"
# RUNPATH $ORIGIN: the program finds libmha.so (and libiomp5.so, when the library
# uses OpenMP) in its own directory, wherever the directory is moved.
"${CC:-cc}" -O2 -Wall -Werror -I "$build" "$here/main.c" -L "$build" -lmha -lm \
  -Wl,-rpath,'$ORIGIN' -o "$build/main"
"$build/main" "$here/input.bin" "$here/expected.bin"
