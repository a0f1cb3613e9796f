"""Greedy token generation with a compiled decode step and a fixed-capacity KV cache.

    python examples/generate.py [--steps 32] [--threads 0]

The decode step of a 2-layer Llama (test/fixtures/hf/llama_decode_kvcache.mlir,
exported by torch-mlir from transformers' own modules) has static shapes:

    forward(input_ids [1, 1] i64, position [1] i64, k0, v0, k1, v1 [1, heads, capacity, head_dim])
        -> (logits [1, 1, vocab], k0', v0', k1', v1')

It writes the new key and value at `position` and masks the cache slots
beyond it, so one compiled function serves every step: this script compiles
it once, then feeds each step's caches and greedy token to the next. Every
step's logits and token are checked against PyTorch's, recorded by
tools/gen_hf_fixtures.py from transformers' `LlamaForCausalLM.forward` with
its own `DynamicCache` (test/fixtures/hf/llama_decode_kvcache_steps.npz); no
torch is needed here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import attn_mlir

HF = Path(__file__).resolve().parents[1] / "test" / "fixtures" / "hf"
RTOL, ATOL = 1e-4, 1e-5


def generate(step_fn, first_token: int, steps: int, caches: list[np.ndarray]):
    """Yield (position, input token, logits, next token, seconds) for `steps` greedy steps."""
    token = first_token
    for position in range(steps):
        start = time.perf_counter()
        logits, *caches = step_fn(np.array([[token]], np.int64), np.array([position], np.int64), *caches)
        seconds = time.perf_counter() - start
        next_token = int(np.argmax(logits[0, 0]))
        yield position, token, logits[0, 0], next_token, seconds
        token = next_token


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32, help="tokens to generate (at most 32)")
    parser.add_argument("--threads", type=int, default=0, help="threads of the cpu schedule (0: all cores)")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)

    reference = np.load(HF / "llama_decode_kvcache_steps.npz")
    steps = min(args.steps, len(reference["next_ids"]))
    start = time.perf_counter()
    step_fn = attn_mlir.compile((HF / "llama_decode_kvcache.mlir").read_text(),
                                pipeline=f"builtin.module(attn-to-llvm{{threads={args.threads}}})")
    compile_seconds = time.perf_counter() - start
    caches = [np.zeros(spec.shape, spec.dtype) for spec in step_fn.arg_specs[2:]]

    tokens, worst, times, ok = [], 0.0, [], True
    for position, token, logits, next_token, seconds in generate(
            step_fn, int(reference["input_ids"][0]), steps, caches):
        want = reference["logits"][position]
        error = float(np.max(np.abs(logits - want)))
        close = np.allclose(logits, want, rtol=RTOL, atol=ATOL)
        same = next_token == int(reference["next_ids"][position])
        ok = ok and close and same
        worst, times = max(worst, error), times + [seconds]
        tokens.append(next_token)
        if not args.quiet:
            print(f"step {position:2d}: token {token:3d} -> {next_token:3d}  "
                  f"max |logits - PyTorch| = {error:.2e}{'' if close and same else '  MISMATCH'}")
    print(f"generated {steps} tokens: {tokens}")
    print(f"compile {compile_seconds:.2f} s, median step {1e3 * float(np.median(times)):.3f} ms; "
          f"max |logits - PyTorch| = {worst:.2e}: "
          f"{'matches PyTorch at every step' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
