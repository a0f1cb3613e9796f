"""Compile examples/mini_attention.mlir, run it on random inputs, compare with numpy.

    python examples/mini_attention.py [examples/single_head_512.mlir]
"""

import sys
from pathlib import Path

import numpy as np

import attn_mlir
from attn_mlir.reference import attention_head

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("mini_attention.mlir"))
scale = 0.125 if "512" in path.name else 1.0  # single_head_512 scales scores by 1/sqrt(64)

fn = attn_mlir.compile(path.read_text(), entry="attention")
rng = np.random.default_rng(0)
# Weights scaled as at initialisation (variance 1/d_model) keep the scores in softmax's range.
x_spec, *w_specs = fn.arg_specs
inputs = [rng.standard_normal(x_spec.shape).astype(np.float32)] + [
    (rng.standard_normal(s.shape) / np.sqrt(s.shape[0])).astype(np.float32) for s in w_specs]
got = fn(*inputs)
want = attention_head(*inputs, scale=scale)
err = np.max(np.abs(got - want))
with np.printoptions(precision=5, suppress=True, threshold=40, edgeitems=2):
    print(f"{path.name}: attn-mlir result {got.dtype}{list(got.shape)}\n{got}")
    print(f"numpy reference\n{want.astype(np.float32)}")
print(f"max |attn-mlir - numpy| = {err:.2e}: {'matches numpy' if err < 1e-5 else 'MISMATCH'}")
sys.exit(0 if err < 1e-5 else 1)
