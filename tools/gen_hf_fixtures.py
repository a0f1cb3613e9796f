#!/usr/bin/env python3
"""Generate the real-model torch-mlir fixtures under ``test/fixtures/hf/``.

A sibling of ``tools/gen_fixtures.py`` with the same file conventions, but the
modules are ``transformers``' own classes (``LlamaAttention``,
``LlamaDecoderLayer``, ``LlamaModel``, ``MistralAttention``, ...), built from
config objects with random weights (no hub downloads), exported with
``torch_mlir.fx.export_and_import(..., output_type="linalg-on-tensors")``:

* ``NAME.mlir``: the module exactly as torch-mlir prints it (weights are
  ``dense_resource`` constants), preceded by a one-line ``//`` header naming
  this generator, the class and the versions; the function is ``@forward``;
* ``NAME.npz``: the inputs as ``arg0, arg1, ...`` (``@forward``'s argument
  order; float32, or int64 for token ids / 0-1 masks / positions) and the
  PyTorch outputs as ``result0, ...``.

Every parameter is re-drawn from a seed after construction: HF's own init
(std 0.02, zero biases, unit norms) makes softmax nearly uniform and biases
zero, which tests little. Weights are normal with a std that gives peaked
softmax rows, biases and norm weights are nonzero.

Each class is wrapped in a small ``nn.Module`` whose ``forward`` takes and
returns tensors only. Things torch-mlir or MLIR 22 cannot take are avoided in
the wrapper, not patched in transformers:

* rotary ``inv_freq`` is a non-persistent buffer, which torch-mlir does not
  see; it is re-registered persistent (cos/sin stay computed in the graph from
  ``position_ids * inv_freq``);
* ``position_ids`` are built from ``torch.arange`` in the graph (an iota in
  the IR) and masks are built by the wrapper (``arange`` compares, or an
  argument), so HF's packed-sequence detection (``cumsum``, lowered to
  ``tm_tensor.scan``, which MLIR 22 cannot parse) never runs.

``--decode-reference`` writes only ``llama_decode_kvcache_steps.npz``: 32
greedy decode steps of the 2-layer model driven through HF's own forward with
a ``DynamicCache``, the reference for a token loop around the
``llama_decode_kvcache`` step function.

Run it in an environment with torch, torch-mlir and transformers (never the
project's venv: torch-mlir's MLIR bindings cannot share a process with the
MLIR 22 ones)::

    python tools/gen_hf_fixtures.py                     # all, to test/fixtures/hf
    python tools/gen_hf_fixtures.py llama_attn_eager     # a subset
    python tools/gen_hf_fixtures.py --decode-reference   # the 32-step reference

Tested with torch==2.13.0 (CPU wheel), torch-mlir==20261001 and
transformers==5.23.0.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import sys
import warnings
import zipfile

import numpy as np
import torch
import torch.nn as nn

FUNC_NAME = "forward"
SEED = 0
OUT_DIR = os.path.join("test", "fixtures", "hf")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Attention-only fixtures: hidden 64; Llama, GPT-NeoX, GPT-2, GPT-J, BERT use 4 heads
# x 16 (scale 0.25, an exact f32 constant in the IR), Mistral, Qwen2 and Phi 8
# heads x 8 (scale 8**-0.5: an f64 constant truncated in the graph).
SEQ = 12
HIDDEN = 64
HEADS = 4
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS

# Layer / model / decode fixtures: smaller, so a 2-layer model stays < 300 KB.
L_HIDDEN = 32
L_HEADS = 4
L_KV_HEADS = 2
L_INTER = 80
L_VOCAB = 64
L_SEQ = 8
DECODE_CAP = 32
EPILOGUE_SEQ = 64     # llama_decoder_layer_seq64: rows and widths that fill register tiles
EPILOGUE_INTER = 64
DECODE_STEPS = 32

WEIGHT_STD = 0.2


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def reinit(module: nn.Module, seed: int, weight_std: float = WEIGHT_STD) -> None:
    """Re-draw every parameter from ``seed``: weights N(0, weight_std), biases
    N(0, 0.5), norm scales 1 + N(0, 0.2), embeddings N(0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if isinstance(owner, nn.Embedding):
                p.copy_(noise)
            elif leaf == "bias":
                p.copy_(0.5 * noise)
            elif p.dim() == 1:  # RMSNorm / LayerNorm scale
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(weight_std * noise)


def persist_buffers(module: nn.Module) -> None:
    """Re-register every non-persistent buffer (rotary ``inv_freq``) as
    persistent: torch-mlir only sees buffers that are in ``state_dict``."""
    for sub in module.modules():
        for name in list(getattr(sub, "_non_persistent_buffers_set", ())):
            sub._non_persistent_buffers_set.discard(name)


def causal_bool(q_len: int, kv_len: int, window: int | None = None):
    """Boolean mask [q, kv] (True = attend) from two aranges, the way HF's
    sdpa mask functions build it; with ``window``, also ``q - kv < window``."""
    q = torch.arange(q_len)[:, None]
    kv = torch.arange(kv_len)[None, :]
    allowed = kv <= q
    if window is not None:
        allowed = allowed & (q - kv < window)
    return allowed


def additive(mask_bool):
    """Boolean (True = attend) -> additive float mask, 0 / finfo.min (HF's
    eager convention), shape [1, 1, q, kv]."""
    min_value = torch.finfo(torch.float32).min
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(mask_bool, zero, min_value)[None, None]


def version(dist: str) -> str:
    return importlib.metadata.version(dist)


def set_impl(config, impl: str):
    config._attn_implementation = impl
    return config


# --------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------


def llama_config(impl: str, small: bool = False, **extra):
    from transformers import LlamaConfig

    if small:
        sizes = dict(hidden_size=L_HIDDEN, num_attention_heads=L_HEADS,
                     num_key_value_heads=L_KV_HEADS, intermediate_size=L_INTER,
                     vocab_size=L_VOCAB)
    else:
        sizes = dict(hidden_size=HIDDEN, num_attention_heads=HEADS,
                     num_key_value_heads=KV_HEADS, intermediate_size=2 * HIDDEN,
                     vocab_size=L_VOCAB)
    sizes.update(extra)
    config = LlamaConfig(num_hidden_layers=2, max_position_embeddings=128,
                         rms_norm_eps=1e-5, pad_token_id=0, **sizes)
    return set_impl(config, impl)


# --------------------------------------------------------------------------
# Wrappers
# --------------------------------------------------------------------------


class RotaryAttention(nn.Module):
    """An HF attention class that takes (hidden_states, (cos, sin),
    attention_mask), with the architecture's own rotary module. ``forward(x)``
    or ``forward(x, mask)``: position_ids are ``arange(seq)`` in the graph,
    cos/sin computed from them; ``mask`` is the additive float mask argument,
    or (``in_graph``) a mask built here from aranges (boolean for sdpa,
    additive 0/finfo.min for eager)."""

    def __init__(self, attn: nn.Module, rotary: nn.Module, impl: str,
                 mask: str, window: int | None = None):
        super().__init__()
        self.attn = attn
        self.rotary = rotary
        self.impl = impl
        self.mask = mask  # "arg" | "in_graph" | "none"
        self.window = window

    def forward(self, x, mask=None):
        seq = x.shape[1]
        position_ids = torch.arange(seq)[None]
        cos_sin = self.rotary(x, position_ids)
        if self.mask == "in_graph":
            allowed = causal_bool(seq, seq, self.window)
            mask = allowed[None, None] if self.impl == "sdpa" else additive(allowed)
        return self.attn(x, position_embeddings=cos_sin, attention_mask=mask)[0]


class PlainAttention(nn.Module):
    """An HF attention class without rotary whose forward takes
    (hidden_states, attention_mask=...) or (hidden_states, layer_past, ...)."""

    def __init__(self, attn: nn.Module, impl: str, mask: str):
        super().__init__()
        self.attn = attn
        self.impl = impl
        self.mask = mask

    def forward(self, x, mask=None):
        seq = x.shape[1]
        if self.mask == "in_graph":
            allowed = causal_bool(seq, seq)
            mask = allowed[None, None] if self.impl == "sdpa" else additive(allowed)
        return self.attn(x, attention_mask=mask)[0]


class DecoderLayer(nn.Module):
    """LlamaDecoderLayer on x [1, S, H] with an additive causal mask argument
    [1, 1, S, S]; cos/sin from the model's rotary module on arange(S)."""

    def __init__(self, layer: nn.Module, rotary: nn.Module):
        super().__init__()
        self.layer = layer
        self.rotary = rotary

    def forward(self, x, mask):
        position_ids = torch.arange(x.shape[1])[None]
        cos_sin = self.rotary(x, position_ids)
        return self.layer(x, attention_mask=mask, position_ids=position_ids,
                          position_embeddings=cos_sin)


class Model(nn.Module):
    """LlamaModel(input_ids [1, S] i64, attention_mask [1, S] i64) ->
    last_hidden_state. The causal + padding mask is built here from aranges
    and the 0/1 mask (what HF's mask builders compute) and passed 4-D:
    boolean for sdpa, additive 0/finfo.min for eager; position_ids =
    arange(S) are explicit, so HF's packed-sequence check is skipped."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        allowed = causal_bool(seq, seq)[None, None] & attention_mask.bool()[:, None, None, :]
        if self.model.config._attn_implementation == "eager":
            allowed = additive(allowed[0, 0])
        position_ids = torch.arange(seq)[None]
        out = self.model(input_ids=input_ids, attention_mask=allowed,
                         position_ids=position_ids, use_cache=False)
        return out.last_hidden_state


# --------------------------------------------------------------------------
# Fixture builders: name -> () -> (module, args)
# --------------------------------------------------------------------------


def _x(seq=SEQ, hidden=HIDDEN):
    return torch.randn(1, seq, hidden)


def llama_attn(impl: str, mask: str | None = None):
    """LlamaAttention; eager takes the mask as an argument, sdpa builds it in
    the graph, or (``mask="none"``) passes none, so HF calls sdpa with
    ``is_causal=True`` and ``enable_gqa=True`` (its path for a prefill
    without padding)."""
    from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding

    config = llama_config(impl)
    mask = mask or ("arg" if impl == "eager" else "in_graph")
    module = RotaryAttention(LlamaAttention(config, 0), LlamaRotaryEmbedding(config), impl, mask)
    return module, (_x(),) + _mask_args(mask)


def llama_decoder_layer():
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    config = llama_config("eager", small=True)
    module = DecoderLayer(LlamaDecoderLayer(config, 0), LlamaRotaryEmbedding(config))
    return module, (_x(L_SEQ, L_HIDDEN), additive(causal_bool(L_SEQ, L_SEQ)))


def llama_decoder_layer_seq64():
    """The decoder layer over 64 tokens with an intermediate size of 64: products
    of 64 rows and widths that are multiples of 32, which the cpu schedule packs
    into panels and fuses with their elementwise consumers (residual adds, SwiGLU)."""
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    config = llama_config("eager", small=True, intermediate_size=EPILOGUE_INTER)
    module = DecoderLayer(LlamaDecoderLayer(config, 0), LlamaRotaryEmbedding(config))
    return module, (_x(EPILOGUE_SEQ, L_HIDDEN), additive(causal_bool(EPILOGUE_SEQ, EPILOGUE_SEQ)))


def llama_model_2layer(impl: str = "sdpa"):
    from transformers import LlamaModel

    config = llama_config(impl, small=True)
    module = Model(LlamaModel(config))
    input_ids = torch.randint(1, L_VOCAB, (1, L_SEQ))
    attention_mask = torch.ones(1, L_SEQ, dtype=torch.int64)
    attention_mask[:, -2:] = 0  # two padding tokens at the end
    input_ids[:, -2:] = 0
    return module, (input_ids, attention_mask)


def _mask_args(mask: str, seq: int = SEQ, window: int | None = None):
    """The extra argument a ``mask="arg"`` wrapper takes: HF's additive
    causal (and window) mask [1, 1, S, S] with finfo.min."""
    return (additive(causal_bool(seq, seq, window)),) if mask == "arg" else ()


def rotary_attn(arch: str, impl: str, mask: str, window: int | None = None):
    """``<Arch>Attention`` + ``<Arch>RotaryEmbedding`` of one architecture."""
    import transformers

    module_name, prefix, config = ROTARY_ARCHS[arch](impl, window)
    modeling = getattr(transformers.models, module_name)
    attn_cls = getattr(getattr(modeling, f"modeling_{module_name}"), f"{prefix}Attention")
    rotary_cls = getattr(getattr(modeling, f"modeling_{module_name}"), f"{prefix}RotaryEmbedding")
    module = RotaryAttention(attn_cls(config, 0), rotary_cls(config), impl, mask, window)
    return module, (_x(),) + _mask_args(mask, SEQ, window)


def _mistral(impl, window):
    from transformers import MistralConfig

    return "mistral", "Mistral", set_impl(MistralConfig(
        hidden_size=HIDDEN, num_attention_heads=8, num_key_value_heads=2,
        intermediate_size=2 * HIDDEN, num_hidden_layers=1, max_position_embeddings=128,
        sliding_window=window, vocab_size=L_VOCAB), impl)


def _qwen2(impl, window):
    from transformers import Qwen2Config

    return "qwen2", "Qwen2", set_impl(Qwen2Config(
        hidden_size=HIDDEN, num_attention_heads=8, num_key_value_heads=4,
        intermediate_size=2 * HIDDEN, num_hidden_layers=1, max_position_embeddings=128,
        vocab_size=L_VOCAB), impl)


def _gpt_neox(impl, window):
    from transformers import GPTNeoXConfig

    return "gpt_neox", "GPTNeoX", set_impl(GPTNeoXConfig(
        hidden_size=HIDDEN, num_attention_heads=HEADS, intermediate_size=2 * HIDDEN,
        num_hidden_layers=1, max_position_embeddings=128, rotary_pct=0.25,
        vocab_size=L_VOCAB), impl)


def _phi(impl, window):
    from transformers import PhiConfig

    return "phi", "Phi", set_impl(PhiConfig(
        hidden_size=HIDDEN, num_attention_heads=8, intermediate_size=2 * HIDDEN,
        num_hidden_layers=1, max_position_embeddings=128, partial_rotary_factor=0.5,
        vocab_size=L_VOCAB), impl)


ROTARY_ARCHS = {"mistral": _mistral, "qwen2": _qwen2, "gpt_neox": _gpt_neox, "phi": _phi}


def gpt2_attn(impl: str, mask: str):
    """GPT2Attention: Conv1D c_attn (weight [in, 3*out], bias) split in
    three, Conv1D c_proj; no rotary."""
    from transformers import GPT2Config
    from transformers.models.gpt2.modeling_gpt2 import GPT2Attention

    config = set_impl(GPT2Config(n_embd=HIDDEN, n_head=HEADS, n_layer=1, n_positions=128,
                                 vocab_size=L_VOCAB, bos_token_id=0, eos_token_id=0), impl)
    module = PlainAttention(GPT2Attention(config, layer_idx=0), impl, mask)
    return module, (_x(),) + _mask_args(mask)


class BertPadding(nn.Module):
    """BertSelfAttention / BertAttention with a padding mask.

    ``mask_input``: ``"raw"``: forward(x, mask01 [1, S] i64), the extended
    mask built here (eager: additive (1 - m) * finfo.min [1, 1, 1, S], as
    HF's ``get_extended_attention_mask``; sdpa: boolean [1, 1, 1, S]);
    ``"additive"``: forward(x, mask [1, 1, 1, S] f32) already additive."""

    def __init__(self, attn: nn.Module, impl: str, mask_input: str):
        super().__init__()
        self.attn = attn
        self.impl = impl
        self.mask_input = mask_input

    def forward(self, x, mask):
        if self.mask_input == "raw":
            if self.impl == "sdpa":
                mask = mask.bool()[:, None, None, :]
            else:
                mask = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(torch.float32).min
        return self.attn(x, attention_mask=mask)[0]


def bert_attn(impl: str, mask_input: str, with_output: bool = False):
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertAttention, BertSelfAttention

    config = set_impl(BertConfig(hidden_size=HIDDEN, num_attention_heads=HEADS,
                                 intermediate_size=2 * HIDDEN, num_hidden_layers=1,
                                 max_position_embeddings=128, vocab_size=L_VOCAB), impl)
    attn = BertAttention(config) if with_output else BertSelfAttention(config)
    mask01 = torch.ones(1, SEQ, dtype=torch.int64)
    mask01[:, -3:] = 0  # three padding tokens
    if mask_input == "raw":
        mask = mask01
    else:
        mask = (1.0 - mask01[:, None, None, :].float()) * torch.finfo(torch.float32).min
    return BertPadding(attn, impl, mask_input), (_x(), mask)


# --------------------------------------------------------------------------
# Decode step with a fixed-capacity KV cache
# --------------------------------------------------------------------------


class OneHotCache:
    """A fixed-capacity KV cache for HF attention classes (they only call
    ``update``): the new key/value [1, Hkv, 1, D] is written into slot
    ``position`` of each [1, Hkv, CAP, D] cache with a select on
    ``arange(CAP) == position`` (a ``linalg.generic`` with ``arith.select``
    after export; no scatter, which torch-mlir lowers to ``tm_tensor``)."""

    def __init__(self, keys, values, position):
        self.keys = list(keys)
        self.values = list(values)
        self.position = position

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        cap = self.keys[layer_idx].shape[2]
        slot = (torch.arange(cap) == self.position)[None, None, :, None]
        self.keys[layer_idx] = torch.where(slot, key_states, self.keys[layer_idx])
        self.values[layer_idx] = torch.where(slot, value_states, self.values[layer_idx])
        return self.keys[layer_idx], self.values[layer_idx]


def slot_mask(position, cap: int):
    """Additive mask [1, 1, 1, CAP]: 0 for slots <= position, finfo.min for
    the slots not written yet."""
    visible = torch.arange(cap) <= position
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(visible, zero, torch.finfo(torch.float32).min)[None, None, None, :]


class LayerDecodeStep(nn.Module):
    """One token through a LlamaDecoderLayer with a fixed-capacity cache:
    forward(hidden [1, 1, H], position [1] i64, k_cache [1, Hkv, CAP, D],
    v_cache [1, Hkv, CAP, D]) -> (hidden_out [1, 1, H], k_cache_new,
    v_cache_new). cos/sin come from the model's rotary module on
    ``position`` (inv_freq * position in the graph)."""

    def __init__(self, layer: nn.Module, rotary: nn.Module):
        super().__init__()
        self.layer = layer
        self.rotary = rotary

    def forward(self, hidden, position, k_cache, v_cache):
        cache = OneHotCache([k_cache], [v_cache], position)
        position_ids = position[None]
        cos_sin = self.rotary(hidden, position_ids)
        out = self.layer(hidden, attention_mask=slot_mask(position, k_cache.shape[2]),
                         position_ids=position_ids, past_key_values=cache,
                         position_embeddings=cos_sin)
        return out, cache.keys[0], cache.values[0]


class ModelDecodeStep(nn.Module):
    """One token through a LlamaForCausalLM with a fixed-capacity cache per
    layer: forward(input_ids [1, 1] i64, position [1] i64, k_cache0, v_cache0,
    k_cache1, v_cache1, ...) -> (logits [1, 1, V], k_cache0_new, v_cache0_new,
    ...). HF's own modules (embedding, rotary, decoder layers, norm, lm_head)
    are called in the order of ``LlamaForCausalLM.forward``."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, position, *caches):
        model = self.lm.model
        cache = OneHotCache(caches[0::2], caches[1::2], position)
        position_ids = position[None]
        hidden = model.embed_tokens(input_ids)
        cos_sin = model.rotary_emb(hidden, position_ids)
        mask = slot_mask(position, caches[0].shape[2])
        for layer in model.layers:
            hidden = layer(hidden, attention_mask=mask, position_ids=position_ids,
                           past_key_values=cache, position_embeddings=cos_sin)
        logits = self.lm.lm_head(model.norm(hidden))
        out = [logits]
        for k, v in zip(cache.keys, cache.values):
            out += [k, v]
        return tuple(out)


def _empty_caches(config, n_layers: int, cap: int):
    head_dim = config.hidden_size // config.num_attention_heads
    shape = (1, config.num_key_value_heads, cap, head_dim)
    return [torch.zeros(shape) for _ in range(2 * n_layers)]


def _decode_lm():
    from transformers import LlamaForCausalLM

    lm = LlamaForCausalLM(llama_config("eager", small=True)).eval()
    reinit(lm, SEED)
    return lm


def check_model_step_against_hf(lm, steps: int, cap: int, start_token: int = 1):
    """Greedy decoding from ``start_token`` at position 0: HF's
    ``LlamaForCausalLM.forward`` with a ``DynamicCache`` against
    ``ModelDecodeStep`` with fixed-capacity caches; asserts equal logits at
    every step and returns the per-step records and the final caches."""
    from transformers import DynamicCache

    step = ModelDecodeStep(lm).eval()
    dyn = DynamicCache(config=lm.config)
    caches = _empty_caches(lm.config, lm.config.num_hidden_layers, cap)
    token = start_token
    rec = {"input_ids": [], "positions": [], "logits": [], "next_ids": [], "hidden": []}
    with torch.no_grad():
        for pos in range(steps):
            ids = torch.tensor([[token]])
            ref = lm(input_ids=ids, past_key_values=dyn, use_cache=True,
                     output_hidden_states=True)
            logits, *caches = step(ids, torch.tensor([pos]), *caches)
            err = (logits - ref.logits).abs().max().item()
            if err > 1e-5:
                raise AssertionError(f"decode step {pos}: max |logits - HF| = {err:.3g}")
            rec["input_ids"].append(token)
            rec["positions"].append(pos)
            rec["logits"].append(ref.logits[0, 0].numpy())
            rec["hidden"].append(ref.hidden_states[-1][0, 0].numpy())
            token = int(ref.logits[0, 0].argmax())
            rec["next_ids"].append(token)
    return rec, caches


def check_layer_step_against_hf(layer, rotary, steps: int, cap: int):
    """A LlamaDecoderLayer with HF's DynamicCache (no mask: every cached
    token is visible) against ``LayerDecodeStep`` for ``steps`` tokens of
    random hidden states; asserts equal outputs."""
    from transformers import DynamicCache

    step = LayerDecodeStep(layer, rotary).eval()
    dyn = DynamicCache(config=layer.self_attn.config)
    k, v = _empty_caches(layer.self_attn.config, 1, cap)
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for pos in range(steps):
            h = torch.randn(1, 1, L_HIDDEN, generator=gen)
            position_ids = torch.tensor([[pos]])
            ref = layer(h, attention_mask=None, position_ids=position_ids, past_key_values=dyn,
                        use_cache=True, position_embeddings=rotary(h, position_ids))
            out, k, v = step(h, torch.tensor([pos]), k, v)
            err = (out - ref).abs().max().item()
            if err > 1e-5:
                raise AssertionError(f"layer decode step {pos}: max |out - HF| = {err:.3g}")
    return k, v


def _noise_unwritten(cache, position: int, gen):
    """Fill slots >= position with noise: a step must overwrite slot
    ``position`` and hide the rest."""
    cache = cache.clone()
    tail = cache[:, :, position:, :]
    cache[:, :, position:, :] = torch.randn(tail.shape, generator=gen)
    return cache


DECODE_POSITION = 5


def llama_decode_kvcache():
    """2-layer LlamaForCausalLM decode step at position 5; the caches hold
    the real keys/values of 5 greedy steps from token 1 (checked against HF
    with a DynamicCache), slots >= 5 hold noise."""
    lm = _decode_lm()
    rec, caches = check_model_step_against_hf(lm, DECODE_POSITION, DECODE_CAP)
    gen = torch.Generator().manual_seed(SEED + 2)
    caches = [_noise_unwritten(c, DECODE_POSITION, gen) for c in caches]
    ids = torch.tensor([[rec["next_ids"][-1]]])
    module = ModelDecodeStep(lm)
    module.seeded = True
    return module, (ids, torch.tensor([DECODE_POSITION]), *caches)


def llama_decode_kvcache_layer():
    """LlamaDecoderLayer decode step at position 5 (caches from 5 checked
    steps of random hidden states, slots >= 5 noise)."""
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    config = llama_config("eager", small=True)
    layer, rotary = LlamaDecoderLayer(config, 0).eval(), LlamaRotaryEmbedding(config)
    reinit(layer, SEED)
    k, v = check_layer_step_against_hf(layer, rotary, DECODE_POSITION, DECODE_CAP)
    gen = torch.Generator().manual_seed(SEED + 2)
    k, v = _noise_unwritten(k, DECODE_POSITION, gen), _noise_unwritten(v, DECODE_POSITION, gen)
    h = torch.randn(1, 1, L_HIDDEN, generator=gen)
    module = LayerDecodeStep(layer, rotary)
    module.seeded = True
    return module, (h, torch.tensor([DECODE_POSITION]), k, v)


class LayerDynamicCacheStep(nn.Module):
    """One token through a LlamaDecoderLayer whose past keys/values sit in HF's own
    ``DynamicCache``: forward(hidden [1, 1, H], position [1] i64, k_past [1, Hkv, P, D],
    v_past) -> (hidden_out, keys [1, Hkv, P + 1, D], values). The cache appends the
    new key/value with ``torch.cat`` (a ``tensor.concat`` after export), as in
    ``generate`` with the default cache; no mask (every cached token is visible)."""

    def __init__(self, layer: nn.Module, rotary: nn.Module):
        super().__init__()
        self.layer = layer
        self.rotary = rotary

    def forward(self, hidden, position, k_past, v_past):
        from transformers import DynamicCache

        cache = DynamicCache()
        cache.update(k_past, v_past, 0)
        position_ids = position[None]
        out = self.layer(hidden, attention_mask=None, position_ids=position_ids,
                         past_key_values=cache, use_cache=True,
                         position_embeddings=self.rotary(hidden, position_ids))
        return out, cache.layers[0].keys, cache.layers[0].values


DYNAMIC_PAST = 16


def llama_decode_dynamic_cache():
    """LlamaDecoderLayer decode step after 16 cached tokens in a DynamicCache (4 heads,
    no grouped-query sharing)."""
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    config = llama_config("eager", small=True, num_key_value_heads=L_HEADS)
    layer, rotary = LlamaDecoderLayer(config, 0).eval(), LlamaRotaryEmbedding(config)
    reinit(layer, SEED)
    gen = torch.Generator().manual_seed(SEED + 3)
    shape = (1, L_HEADS, DYNAMIC_PAST, L_HIDDEN // L_HEADS)
    k, v = (torch.randn(shape, generator=gen) for _ in range(2))
    h = torch.randn(1, 1, L_HIDDEN, generator=gen)
    module = LayerDynamicCacheStep(layer, rotary)
    module.seeded = True
    return module, (h, torch.tensor([DYNAMIC_PAST]), k, v)


def decode_reference(out_dir: str) -> None:
    """``llama_decode_kvcache_steps.npz``: DECODE_STEPS greedy steps of the
    ``llama_decode_kvcache`` model from token 1 at position 0 and zero
    caches, as HF's forward with a DynamicCache computes them (the
    fixed-capacity step function is asserted equal at every step)."""
    lm = _decode_lm()
    rec, caches = check_model_step_against_hf(lm, DECODE_STEPS, DECODE_CAP)
    arrays = {
        "input_ids": np.array(rec["input_ids"], dtype=np.int64),
        "positions": np.array(rec["positions"], dtype=np.int64),
        "next_ids": np.array(rec["next_ids"], dtype=np.int64),
        "logits": np.stack(rec["logits"]).astype(np.float32),
        "hidden": np.stack(rec["hidden"]).astype(np.float32),
    }
    for i, c in enumerate(caches):
        arrays[f"{'kv'[i % 2]}_cache{i // 2}_final"] = c.numpy()
    path = os.path.join(out_dir, "llama_decode_kvcache_steps.npz")
    _save_npz(path, arrays)
    print(f"llama_decode_kvcache_steps: {DECODE_STEPS} steps, tokens {rec['next_ids']}")


class GPTJPositions(nn.Module):
    """GPTJAttention: forward(x, mask) with position_ids = arange(S) in the
    graph (GPT-J gathers sin/cos rows from its ``embed_positions`` table)."""

    def __init__(self, attn: nn.Module):
        super().__init__()
        self.attn = attn

    def forward(self, x, mask):
        position_ids = torch.arange(x.shape[1])[None]
        return self.attn(x, attention_mask=mask, position_ids=position_ids)[0]


def gptj_attn():
    """GPT-J: interleaved (even/odd lanes, ``rotate_every_two``) partial
    rotary on 8 of 16 channels, scores ``/ sqrt(head_dim)``, no biases."""
    from transformers import GPTJConfig
    from transformers.models.gptj.modeling_gptj import GPTJAttention

    config = set_impl(GPTJConfig(n_embd=HIDDEN, n_head=HEADS, n_layer=1, n_positions=SEQ,
                                 rotary_dim=HEAD_DIM // 2, vocab_size=L_VOCAB,
                                 bos_token_id=0, eos_token_id=0), "eager")
    module = GPTJPositions(GPTJAttention(config, layer_idx=0))
    return module, (_x(),) + _mask_args("arg")


FIXTURES = {
    "llama_attn_eager": lambda: llama_attn("eager"),
    "llama_attn_sdpa": lambda: llama_attn("sdpa"),
    "llama_attn_sdpa_is_causal": lambda: llama_attn("sdpa", mask="none"),
    "llama_decoder_layer": llama_decoder_layer,
    "llama_decoder_layer_seq64": llama_decoder_layer_seq64,
    "llama_model_2layer": llama_model_2layer,
    "llama_model_2layer_eager": lambda: llama_model_2layer("eager"),
    "mistral_attn_sdpa": lambda: rotary_attn("mistral", "sdpa", "in_graph", window=4),
    "mistral_attn_eager": lambda: rotary_attn("mistral", "eager", "in_graph", window=4),
    "qwen2_attn_eager": lambda: rotary_attn("qwen2", "eager", "arg"),
    "qwen2_attn_sdpa": lambda: rotary_attn("qwen2", "sdpa", "in_graph"),
    "gpt_neox_attn_eager": lambda: rotary_attn("gpt_neox", "eager", "arg"),
    "gpt_neox_attn_sdpa": lambda: rotary_attn("gpt_neox", "sdpa", "in_graph"),
    "gpt2_attn_eager": lambda: gpt2_attn("eager", "arg"),
    "gpt2_attn_sdpa": lambda: gpt2_attn("sdpa", "in_graph"),
    "bert_self_attention": lambda: bert_attn("eager", "raw", with_output=True),
    "bert_attn_eager": lambda: bert_attn("eager", "additive"),
    "bert_attn_sdpa": lambda: bert_attn("sdpa", "raw"),
    "phi_attn_eager": lambda: rotary_attn("phi", "eager", "arg"),
    "phi_attn_sdpa": lambda: rotary_attn("phi", "sdpa", "in_graph"),
    "gptj_attn_eager": gptj_attn,
    "llama_decode_kvcache": llama_decode_kvcache,
    "llama_decode_kvcache_layer": llama_decode_kvcache_layer,
    "llama_decode_dynamic_cache": llama_decode_dynamic_cache,
}


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def _save_npz(path: str, arrays: dict) -> None:
    """Like np.savez (uncompressed) but with fixed zip timestamps, so that
    regenerating gives byte-identical files."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                        buf.getvalue())


def _numpy(t: torch.Tensor) -> np.ndarray:
    a = t.detach().numpy()
    return a.astype(np.float32) if a.dtype.kind == "f" else a


def _describe(module: nn.Module) -> str:
    """The transformers classes a wrapper holds, for the file header."""
    return ", ".join(type(m).__name__ for m in module.children()) or type(module).__name__


# Fixtures exported with their large weights in a safetensors file beside them
# (external/NAME.safetensors; the module loads them by name), through the
# exporter that `attn_mlir.from_torch(..., external_weights=True)` runs.
EXTERNAL = {"llama_decoder_layer_external": "llama_decoder_layer"}


def _export_external(module, args, weights_path: str):
    """torch-mlir's import with the exporter's hooks: big weights go to `weights_path`."""
    from torch_mlir import fx

    sys.path.insert(0, os.path.join(ROOT, "python", "attn_mlir", "torch_export"))
    import exporter  # noqa: PLC0415 (a file of the package, run without the package)

    exported = torch.export.export(module, tuple(args))
    exported = exported.run_decompositions(fx.get_decomposition_table())
    exporter._buffers_in_state_dict(exported)
    hooks = exporter._external_hooks(exported)
    mlir_module = fx.export_and_import(exported, output_type="linalg-on-tensors",
                                       func_name=FUNC_NAME, decomposition_table={}, hooks=hooks)
    exporter._externalize(mlir_module, hooks, weights_path)
    return mlir_module


def generate(name: str, out_dir: str) -> None:
    from torch_mlir import fx

    external = name in EXTERNAL
    make = FIXTURES[EXTERNAL.get(name, name)]
    if external:  # a folder of their own: the other fixtures' tests parse text, not files
        out_dir = os.path.join(out_dir, "external")
        os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(SEED)
    module, args = make()
    module = module.eval()
    if not getattr(module, "seeded", False):  # decode builders seed before their HF check
        reinit(module, SEED)
    persist_buffers(module)

    with torch.no_grad():
        results = module(*args)
    if isinstance(results, torch.Tensor):
        results = (results,)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if external:
            mlir_module = _export_external(module, args,
                                           os.path.join(out_dir, f"{name}.safetensors"))
        else:
            mlir_module = fx.export_and_import(
                module, *args, output_type="linalg-on-tensors", func_name=FUNC_NAME
            )
    asm = mlir_module.operation.get_asm(large_elements_limit=None, large_resource_limit=None)
    if "dense_resource" in asm and "dialect_resources" not in asm:
        raise RuntimeError(f"{name}: resource blobs missing from printed module")

    header = (
        f"// Generated by tools/gen_hf_fixtures.py from transformers {version('transformers')} "
        f"{_describe(module)} (fixture {name}; torch {torch.__version__}, "
        f"torch-mlir {version('torch-mlir')}); do not edit.\n"
    )
    with open(os.path.join(out_dir, f"{name}.mlir"), "w") as f:
        f.write(header + asm)

    arrays = {f"arg{i}": _numpy(a) for i, a in enumerate(args)}
    arrays.update({f"result{i}": _numpy(r) for i, r in enumerate(results)})
    _save_npz(os.path.join(out_dir, f"{name}.npz"), arrays)
    size = os.path.getsize(os.path.join(out_dir, f"{name}.mlir"))
    print(f"{name}: args {[tuple(a.shape) for a in args]} "
          f"-> results {[tuple(r.shape) for r in results]}, {size // 1024} KB")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=OUT_DIR, help=f"output directory (default: {OUT_DIR})")
    p.add_argument("--decode-reference", action="store_true",
                   help="write only llama_decode_kvcache_steps.npz")
    p.add_argument("names", nargs="*",
                   help=f"subset of: {', '.join(list(FIXTURES) + list(EXTERNAL))}")
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(ns.out, exist_ok=True)
    if ns.decode_reference:
        decode_reference(ns.out)
        return 0
    names = ns.names or list(FIXTURES) + list(EXTERNAL)
    unknown = [n for n in names if n not in FIXTURES and n not in EXTERNAL]
    if unknown:
        p.error(f"unknown fixture(s): {', '.join(unknown)}")
    for name in names:
        generate(name, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
