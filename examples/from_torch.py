"""A transformers Llama attention layer, compiled with attn_mlir.from_torch and checked against PyTorch.

    python examples/from_torch.py

Needs torch, torch-mlir and transformers (pip install torch==2.13.0, then
pip install -e '.[torch]'), or a Python that has torch-mlir named by
$ATTN_MLIR_TORCH_PYTHON. The layer is built from a small config (no download)
and its weights are re-initialised from a seed.
"""

import sys
import time

import numpy as np
import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding

import attn_mlir as am

SEQ = 16
SEED = 0


class LlamaAttentionLayer(torch.nn.Module):
    """LlamaAttention with its rotary tables for positions 0..SEQ-1: hidden states in, out out."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.attention = LlamaAttention(config, layer_idx=0)
        self.rotary = LlamaRotaryEmbedding(config)
        self.register_buffer("position_ids", torch.arange(SEQ)[None], persistent=False)

    def forward(self, hidden_states):
        cos, sin = self.rotary(hidden_states, self.position_ids)
        # No mask: the sdpa implementation makes the attention causal.
        output, _ = self.attention(hidden_states, (cos, sin), attention_mask=None)
        return output


def build() -> LlamaAttentionLayer:
    config = LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, max_position_embeddings=SEQ, attention_bias=False)
    config._attn_implementation = "sdpa"
    torch.manual_seed(SEED)
    layer = LlamaAttentionLayer(config).eval()
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) / p.shape[-1] ** 0.5)
    return layer


def main() -> int:
    layer = build()
    x = torch.randn(1, SEQ, 64, generator=torch.Generator().manual_seed(SEED + 1))
    start = time.perf_counter()
    fn = am.from_torch(layer, x)
    print(f"from_torch: {time.perf_counter() - start:.1f} s (exported IR: {fn.mlir_path})")
    with torch.no_grad():
        want = layer(x).numpy()
    got = fn(x)                      # torch in, torch out
    got_np = fn(x.numpy())           # numpy in, numpy out
    assert isinstance(got, torch.Tensor) and isinstance(got_np, np.ndarray)
    error = float(np.max(np.abs(got.numpy() - want)))
    ok = np.allclose(got.numpy(), want, rtol=1e-4, atol=1e-5) and np.array_equal(got.numpy(), got_np)
    print(f"LlamaAttention {tuple(x.shape)} -> {tuple(got.shape)}: max |error| vs PyTorch = "
          f"{error:.3g}: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
