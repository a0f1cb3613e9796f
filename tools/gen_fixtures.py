#!/usr/bin/env python3
"""Generate the torch-mlir attention fixtures under ``test/fixtures/``.

Each fixture is a small PyTorch ``nn.Module`` written in the style of the
HuggingFace Llama / GPT-NeoX attention code. It is exported with
``torch_mlir.fx.export_and_import(..., output_type="linalg-on-tensors")`` and
written out as

* ``NAME.mlir``: the linalg-on-tensors module exactly as torch-mlir prints it
  (weights and RoPE tables stay ``dense_resource`` constants, with the
  ``{-# dialect_resources: ... #-}`` blob section at the end), preceded by a
  one-line ``//`` header;
* ``NAME.npz``: the example inputs as ``arg0, arg1, ...`` (in the order of the
  ``@forward`` function's arguments, float32) and the PyTorch outputs as
  ``result0, ...``.

The project's tests only read these files, so they run without torch. To
regenerate (needs torch and torch-mlir, not the MLIR 22 bindings)::

    python tools/gen_fixtures.py --out test/fixtures            # all fixtures
    python tools/gen_fixtures.py --out test/fixtures gqa mha     # a subset

Tested with torch==2.13.0 (CPU wheel) and torch-mlir==20261001. All sizes are
small (sequence 8-16, d_model 32-64, head_dim 8-16) so each file stays well
under 200 KB. Everything is seeded (``torch.manual_seed``), so a rerun with the
same versions gives the same files.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FUNC_NAME = "forward"
SEED = 0


# --------------------------------------------------------------------------
# HF-style helpers
# --------------------------------------------------------------------------


def rope_cos_sin(positions, dim: int, base: float = 10000.0):
    """Return (cos, sin) of shape [len(positions), dim], HF Llama layout
    (the frequency table is duplicated: emb = cat(freqs, freqs))."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    t = torch.as_tensor(positions, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    """Rotates half the hidden dims of the input (HF Llama)."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep: int):
    """[B, H_kv, S, D] -> [B, H_kv * n_rep, S, D] (HF Llama)."""
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim
    )
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------


class LlamaSingleHead(nn.Module):
    """One Llama head: x[B,S,E] -> q/k/v [B,S,D], RoPE from constant buffers,
    softmax(q k^T / sqrt(D)) v. Output [B,S,D]."""

    def __init__(self, seq: int = 16, d_model: int = 32, head_dim: int = 16,
                 rope_buffers: bool = True):
        super().__init__()
        self.head_dim = head_dim
        self.q_proj = nn.Linear(d_model, head_dim, bias=False)
        self.k_proj = nn.Linear(d_model, head_dim, bias=False)
        self.v_proj = nn.Linear(d_model, head_dim, bias=False)
        if rope_buffers:
            cos, sin = rope_cos_sin(range(seq), head_dim)
            self.register_buffer("cos", cos)  # [S, D]
            self.register_buffer("sin", sin)

    def attend(self, x, cos, sin):
        q = self.q_proj(x)
        k = self.k_proj(x)
        v = self.v_proj(x)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, v)

    def forward(self, x):
        return self.attend(x, self.cos, self.sin)


class RopeCosSinInputs(LlamaSingleHead):
    """LlamaSingleHead, but cos and sin [S, D] are forward() arguments instead
    of constant buffers."""

    def __init__(self, seq: int = 16, d_model: int = 32, head_dim: int = 16):
        super().__init__(seq, d_model, head_dim, rope_buffers=False)

    def forward(self, x, cos, sin):
        return self.attend(x, cos, sin)


class MultiHead(nn.Module):
    """What the multi-head fixtures share: bias-free q/k/v/o projections (HF's
    [out, in] weights), heads split as [B, H, S, D] and merged back through
    o_proj, and RoPE tables as constant [1, 1, S, D] buffers."""

    def __init__(self, d_model: int, n_heads: int, head_dim: int, n_kv_heads: int | None = None):
        super().__init__()
        n_kv_heads = n_kv_heads or n_heads
        self.head_dim = head_dim
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * head_dim, d_model, bias=False)

    def rope_buffers(self, positions, dim: int) -> None:
        cos, sin = rope_cos_sin(positions, dim)
        # HF: cos[B, S, D].unsqueeze(1) -> [B, 1, S, D]
        self.register_buffer("cos", cos[None, None])
        self.register_buffer("sin", sin[None, None])

    def split_heads(self, x):
        bsz, q_len, _ = x.shape
        shape = (bsz, q_len, -1, self.head_dim)
        return tuple(proj(x).view(shape).transpose(1, 2)
                     for proj in (self.q_proj, self.k_proj, self.v_proj))

    def merge_heads(self, out):
        bsz, _, q_len, _ = out.shape
        return self.o_proj(out.transpose(1, 2).contiguous().reshape(bsz, q_len, -1))


class LlamaMHA(MultiHead):
    """Llama multi-head attention (no mask): projections, view/transpose to
    [B,H,S,D], RoPE, scores * head_dim**-0.5 (HF's ``scaling``), softmax, @v,
    transpose back, reshape, o_proj."""

    def __init__(self, seq: int = 16, d_model: int = 64, n_heads: int = 4, head_dim: int = 16):
        super().__init__(d_model, n_heads, head_dim)
        self.scaling = head_dim**-0.5
        self.rope_buffers(range(seq), head_dim)

    def forward(self, x):
        q, k, v = self.split_heads(x)
        q, k = apply_rotary_pos_emb(q, k, self.cos, self.sin)
        attn = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        attn = F.softmax(attn, dim=-1)
        return self.merge_heads(torch.matmul(attn, v))


class GQA(MultiHead):
    """Llama grouped-query attention: 4 query heads share 2 kv heads
    (repeat_kv via expand + reshape), RoPE, no mask, o_proj."""

    def __init__(self, seq: int = 16, d_model: int = 64, n_heads: int = 4,
                 n_kv_heads: int = 2, head_dim: int = 16):
        super().__init__(d_model, n_heads, head_dim, n_kv_heads)
        self.n_rep = n_heads // n_kv_heads
        self.scaling = head_dim**-0.5
        self.rope_buffers(range(seq), head_dim)

    def forward(self, x):
        q, k, v = self.split_heads(x)
        q, k = apply_rotary_pos_emb(q, k, self.cos, self.sin)
        k = repeat_kv(k, self.n_rep)
        v = repeat_kv(v, self.n_rep)
        attn = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        attn = F.softmax(attn, dim=-1)
        return self.merge_heads(torch.matmul(attn, v))


class CausalSDPA(MultiHead):
    """Multi-head attention through F.scaled_dot_product_attention(is_causal=True)
    (no RoPE): projections, heads, SDPA, merge heads, o_proj."""

    def __init__(self, seq: int = 16, d_model: int = 64, n_heads: int = 4, head_dim: int = 16):
        super().__init__(d_model, n_heads, head_dim)

    def forward(self, x):
        q, k, v = self.split_heads(x)
        return self.merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=True))


class NeoXPartialRotary(MultiHead):
    """GPT-NeoX-style partial rotary: only the first rot_dim = rotary_pct *
    head_dim channels of each q/k head are rotated; the rest pass through and
    are concatenated back. (Projections are separate bias-free Linears, as in
    the other fixtures, not NeoX's fused biased query_key_value.)"""

    def __init__(self, seq: int = 16, d_model: int = 64, n_heads: int = 4,
                 head_dim: int = 16, rotary_pct: float = 0.5):
        super().__init__(d_model, n_heads, head_dim)
        self.rot_dim = int(head_dim * rotary_pct)
        self.norm_factor = math.sqrt(head_dim)
        self.rope_buffers(range(seq), self.rot_dim)  # [1, 1, S, rot_dim]

    def forward(self, x):
        q, k, v = self.split_heads(x)
        q_rot, q_pass = q[..., : self.rot_dim], q[..., self.rot_dim :]
        k_rot, k_pass = k[..., : self.rot_dim], k[..., self.rot_dim :]
        q_rot, k_rot = apply_rotary_pos_emb(q_rot, k_rot, self.cos, self.sin)
        q = torch.cat((q_rot, q_pass), dim=-1)
        k = torch.cat((k_rot, k_pass), dim=-1)
        attn = torch.matmul(q, k.transpose(-1, -2)) / self.norm_factor
        attn = F.softmax(attn, dim=-1)
        return self.merge_heads(torch.matmul(attn, v))


class DecodeFixedPosition(MultiHead):
    """One decode step: a single new token x[B,1,E] at fixed position
    ``position`` (its RoPE cos/sin are [1,1,1,D] constants), KV cache
    past_k/past_v [B,H,P,D] passed as inputs (already rotated), new k/v
    concatenated onto the cache along the sequence axis, no mask (the new
    token attends to every cached position and itself). Returns only the
    attention output after o_proj (not the updated cache)."""

    def __init__(self, past_len: int = 16, d_model: int = 32, n_heads: int = 2, head_dim: int = 16):
        super().__init__(d_model, n_heads, head_dim)
        self.scaling = head_dim**-0.5
        self.rope_buffers([past_len], head_dim)  # [1, 1, 1, D]

    def forward(self, x, past_k, past_v):
        q, k, v = self.split_heads(x)
        q, k = apply_rotary_pos_emb(q, k, self.cos, self.sin)
        k = torch.cat((past_k, k), dim=-2)
        v = torch.cat((past_v, v), dim=-2)
        attn = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        attn = F.softmax(attn, dim=-1)
        return self.merge_heads(torch.matmul(attn, v))


class MiniAttention(nn.Module):
    """The plain reference head: x[4,8], constant 8x8 Wq/Wk/Wv (used as
    x @ W, no transpose), no scale, softmax over the last axis, @v."""

    def __init__(self, n: int = 4, d: int = 8):
        super().__init__()
        self.register_buffer("wq", torch.randn(d, d))
        self.register_buffer("wk", torch.randn(d, d))
        self.register_buffer("wv", torch.randn(d, d))

    def forward(self, x):
        q = x @ self.wq
        k = x @ self.wk
        v = x @ self.wv
        return torch.softmax(q @ k.transpose(0, 1), dim=-1) @ v


# --------------------------------------------------------------------------
# Fixture table: name -> (module factory, example-input factory)
# --------------------------------------------------------------------------


def _x(seq, d_model):
    return torch.randn(1, seq, d_model)


def _rope_inputs():
    cos, sin = rope_cos_sin(range(16), 16)
    return (_x(16, 32), cos, sin)


FIXTURES = {
    "llama_single_head": (LlamaSingleHead, lambda: (_x(16, 32),)),
    "llama_mha": (LlamaMHA, lambda: (_x(16, 64),)),
    "gqa": (GQA, lambda: (_x(16, 64),)),
    "causal_sdpa": (CausalSDPA, lambda: (_x(16, 64),)),
    "neox_partial_rotary": (NeoXPartialRotary, lambda: (_x(16, 64),)),
    "decode_fixed_position": (
        DecodeFixedPosition,
        lambda: (_x(1, 32), torch.randn(1, 2, 16, 16), torch.randn(1, 2, 16, 16)),
    ),
    # cos/sin inputs are the real RoPE tables for positions 0..15, not noise.
    "rope_cos_sin_inputs": (RopeCosSinInputs, _rope_inputs),
    "mini_attention": (MiniAttention, lambda: (torch.randn(4, 8),)),
}


def _save_npz(path: str, arrays: dict) -> None:
    """Like np.savez (uncompressed, loadable by np.load) but with fixed zip
    timestamps so that regenerating gives byte-identical files."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                        buf.getvalue())


def generate(name: str, out_dir: str) -> None:
    from torch_mlir import fx

    make_module, make_inputs = FIXTURES[name]
    torch.manual_seed(SEED)
    module = make_module().eval()
    args = tuple(a.to(torch.float32).contiguous() for a in make_inputs())

    with torch.no_grad():
        results = module(*args)
    if isinstance(results, torch.Tensor):
        results = (results,)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mlir_module = fx.export_and_import(
            module, *args, output_type="linalg-on-tensors", func_name=FUNC_NAME
        )
    # Default limits (None) print every elements attr and resource blob in full.
    asm = mlir_module.operation.get_asm(large_elements_limit=None, large_resource_limit=None)
    if "dense_resource" in asm and "dialect_resources" not in asm:
        raise RuntimeError(f"{name}: resource blobs missing from printed module")

    header = (
        f"// Generated by tools/gen_fixtures.py from {type(module).__name__} "
        f"(fixture {name}); do not edit.\n"
    )
    with open(os.path.join(out_dir, f"{name}.mlir"), "w") as f:
        f.write(header + asm)

    arrays = {f"arg{i}": a.numpy().astype(np.float32) for i, a in enumerate(args)}
    arrays.update(
        {f"result{i}": r.detach().numpy().astype(np.float32) for i, r in enumerate(results)}
    )
    _save_npz(os.path.join(out_dir, f"{name}.npz"), arrays)
    print(f"{name}: args {[tuple(a.shape) for a in args]} "
          f"-> results {[tuple(r.shape) for r in results]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join("test", "fixtures"),
                   help="output directory (default: test/fixtures)")
    p.add_argument("names", nargs="*", help=f"subset of: {', '.join(FIXTURES)}")
    ns = p.parse_args(argv)
    names = ns.names or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        p.error(f"unknown fixture(s): {', '.join(unknown)}")
    os.makedirs(ns.out, exist_ok=True)
    torch.set_num_threads(1)
    for name in names:
        generate(name, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
