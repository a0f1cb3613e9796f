"""The PyTorch side of examples/llama_1b.py: export and reference, in a child process.

    python llama_1b_torch.py EXPORTER OUT_DIR CONFIG_JSON

Runs in an interpreter with torch, torch-mlir and transformers (never the
project's one: torch-mlir's MLIR bindings cannot share a process with ours).
CONFIG_JSON holds the `LlamaConfig` fields, the seed, the prompt length and the
number of tokens to generate. Writes into OUT_DIR:

* `embed_prefill.mlir`, `embed_decode.mlir`: `model.embed_tokens` on
  [1, PROMPT] and [1, 1] token ids;
* `layer_prefill.mlir`: one `LlamaDecoderLayer` on the prompt (causal mask,
  positions 0..PROMPT-1), returning its output and the layer's keys and values;
* `layer_decode.mlir`: one `LlamaDecoderLayer` on one token at a position,
  with fixed-capacity key/value caches (the new key/value written at the
  position, later slots masked), returning the output and the new caches;
* `final.mlir`: `model.norm` and `lm_head` on one token;
* `layers/K.safetensors`: layer K's weights under the names both layer
  modules load (`layer.self_attn.q_proj.weight`, ...), `embed.safetensors`,
  `final.safetensors`;
* `reference.npz`: the prompt, the 32 greedy tokens and their logits from
  `LlamaForCausalLM.forward` with a `DynamicCache`, and PyTorch's prefill and
  per-token decode times;
* `done.json` last, so a cache entry is complete or absent.

Every module is exported with torch-mlir's FX importer through EXPORTER
(attn_mlir/torch_export/exporter.py): weights of at least 4 KiB go to
safetensors files, never through the IR text. The model is built from the
config with transformers' own random initialisation after
`torch.manual_seed(seed)`; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn as nn


def progress(text: str) -> None:
    print(f"[torch] {text}", file=sys.stderr, flush=True)


def load_exporter(path: str):
    spec = importlib.util.spec_from_file_location("attn_exporter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CaptureCache:
    """A cache for HF attention classes (they only call `update`) that keeps
    the keys and values of one prompt and returns them unchanged."""

    def __init__(self):
        self.keys = self.values = None

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        self.keys, self.values = key_states, value_states
        return key_states, value_states


class SlotCache:
    """A fixed-capacity cache: the new key/value [1, Hkv, 1, D] goes into slot
    `position` of [1, Hkv, CAP, D] with a select on `arange(CAP) == position`."""

    def __init__(self, keys, values, position):
        self.keys, self.values, self.position = keys, values, position

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        slot = (torch.arange(self.keys.shape[2]) == self.position)[None, None, :, None]
        self.keys = torch.where(slot, key_states, self.keys)
        self.values = torch.where(slot, value_states, self.values)
        return self.keys, self.values


def additive(visible):
    """Boolean (True = attend) -> additive mask, 0 / finfo.min (HF's eager convention)."""
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(visible, zero, torch.finfo(torch.float32).min)


class Embed(nn.Module):
    def __init__(self, embed: nn.Module):
        super().__init__()
        self.embed = embed

    def forward(self, input_ids):
        return self.embed(input_ids)


class LayerPrefill(nn.Module):
    """forward(hidden [1, T, H]) -> (hidden [1, T, H], keys, values [1, Hkv, T, D])."""

    def __init__(self, layer: nn.Module, rotary: nn.Module):
        super().__init__()
        self.layer, self.rotary = layer, rotary

    def forward(self, hidden):
        length = hidden.shape[1]
        position_ids = torch.arange(length)[None]
        cache = CaptureCache()
        positions = torch.arange(length)
        mask = additive(positions[None, :] <= positions[:, None])[None, None]
        out = self.layer(hidden, attention_mask=mask, position_ids=position_ids,
                         past_key_values=cache,
                         position_embeddings=self.rotary(hidden, position_ids))
        return out, cache.keys, cache.values


class LayerDecode(nn.Module):
    """forward(hidden [1, 1, H], position [1] i64, keys, values [1, Hkv, CAP, D])
    -> (hidden [1, 1, H], keys, values with slot `position` written)."""

    def __init__(self, layer: nn.Module, rotary: nn.Module):
        super().__init__()
        self.layer, self.rotary = layer, rotary

    def forward(self, hidden, position, keys, values):
        cache = SlotCache(keys, values, position)
        position_ids = position[None]
        mask = additive(torch.arange(keys.shape[2]) <= position)[None, None, None, :]
        out = self.layer(hidden, attention_mask=mask, position_ids=position_ids,
                         past_key_values=cache,
                         position_embeddings=self.rotary(hidden, position_ids))
        return out, cache.keys, cache.values


class Final(nn.Module):
    def __init__(self, norm: nn.Module, lm_head: nn.Module):
        super().__init__()
        self.norm, self.lm_head = norm, lm_head

    def forward(self, hidden):
        return self.lm_head(self.norm(hidden))


def persist_buffers(module: nn.Module) -> None:
    """Non-persistent buffers (rotary inv_freq) as persistent: torch-mlir reads state_dict."""
    for sub in module.modules():
        for name in list(getattr(sub, "_non_persistent_buffers_set", ())):
            sub._non_persistent_buffers_set.discard(name)


def export(exporter, module: nn.Module, inputs, out_mlir: str, weights: str) -> list[str]:
    """Export `module` on `inputs` to `out_mlir`, its large weights to `weights`;
    returns the names the file holds."""
    program = torch.export.export(module.eval(), tuple(inputs))
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "program.pt2")
        torch.export.save(program, saved)
        if exporter.main([saved, out_mlir, "forward", weights]) != 0:
            raise SystemExit(f"exporting {os.path.basename(out_mlir)} failed")
    with open(weights, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    return [name for name in header if name != "__metadata__"]


def reference(lm, prompt, steps: int) -> dict:
    """Greedy tokens from HF's own forward with a DynamicCache, with timings."""
    from transformers import DynamicCache

    cache = DynamicCache(config=lm.config)
    logits, tokens, decode_seconds = [], [], []
    with torch.no_grad():
        start = time.perf_counter()
        out = lm(input_ids=prompt, past_key_values=cache, use_cache=True)
        prefill_seconds = time.perf_counter() - start
        for step in range(steps):
            last = out.logits[0, -1].float()
            logits.append(last.numpy().copy())
            tokens.append(int(torch.argmax(last)))
            progress(f"reference token {step + 1}/{steps}: {tokens[-1]}")
            if step + 1 == steps:
                break
            start = time.perf_counter()
            out = lm(input_ids=torch.tensor([[tokens[-1]]]), past_key_values=cache, use_cache=True)
            decode_seconds.append(time.perf_counter() - start)
    return {"prompt": prompt.numpy(), "tokens": np.array(tokens, np.int64),
            "logits": np.stack(logits).astype(np.float32),
            "torch_prefill_seconds": np.array(prefill_seconds),
            "torch_decode_seconds": np.array(decode_seconds)}


def main(argv) -> int:
    exporter_path, out_dir, config_json = argv
    warnings.filterwarnings("ignore")
    settings = json.loads(config_json)
    recorded = dict(settings)
    seed, prompt_len, steps = settings.pop("seed"), settings.pop("prompt"), settings.pop("steps")
    from transformers import LlamaConfig, LlamaForCausalLM

    exporter = load_exporter(exporter_path)
    # Every float tensor goes to a file, however small (norm weights too): a layer's
    # module then holds nothing of that layer, and binds to every layer's file.
    exporter.EXTERNAL_MIN_BYTES = 0
    torch.set_num_threads(os.cpu_count() or 1)
    config = LlamaConfig(**settings)
    config._attn_implementation = "eager"
    progress(f"building LlamaForCausalLM ({config.num_hidden_layers} layers, hidden "
             f"{config.hidden_size}) from seed {seed}")
    torch.manual_seed(seed)
    start = time.perf_counter()
    lm = LlamaForCausalLM(config).eval()
    params = sum(p.numel() for p in lm.parameters())
    progress(f"built {params / 1e9:.2f}B parameters in {time.perf_counter() - start:.1f} s")
    prompt = torch.randint(0, config.vocab_size, (1, prompt_len),
                           generator=torch.Generator().manual_seed(seed + 1))

    os.makedirs(os.path.join(out_dir, "layers"), exist_ok=True)
    model = lm.model
    persist_buffers(model.rotary_emb)
    hidden_size, capacity = config.hidden_size, prompt_len + steps
    head_dim = config.hidden_size // config.num_attention_heads
    cache_shape = (1, config.num_key_value_heads, capacity, head_dim)
    path = lambda name: os.path.join(out_dir, name)  # noqa: E731

    with torch.no_grad():
        progress("exporting the embedding, a decoder layer (prefill and decode) and the head")
        export(exporter, Embed(model.embed_tokens), [prompt], path("embed_prefill.mlir"),
               path("embed.safetensors"))
        export(exporter, Embed(model.embed_tokens), [prompt[:, :1]], path("embed_decode.mlir"),
               path("embed.safetensors"))
        layer0 = path(os.path.join("layers", "0.safetensors"))
        names = export(exporter, LayerPrefill(model.layers[0], model.rotary_emb),
                       [torch.zeros(1, prompt_len, hidden_size)], path("layer_prefill.mlir"), layer0)
        names_decode = export(
            exporter, LayerDecode(model.layers[0], model.rotary_emb),
            [torch.zeros(1, 1, hidden_size), torch.tensor([prompt_len]),
             torch.zeros(cache_shape), torch.zeros(cache_shape)], path("layer_decode.mlir"), layer0)
        if sorted(names) != sorted(names_decode):
            raise SystemExit("the prefill and decode layer modules load different weights")
        layer_params = {f"layer.{name}" for name, _ in model.layers[0].named_parameters()}
        if missing := sorted(layer_params - set(names)):
            raise SystemExit(f"layer weights left in the IR text: {', '.join(missing)}")
        export(exporter, Final(model.norm, lm.lm_head), [torch.zeros(1, 1, hidden_size)],
               path("final.mlir"), path("final.safetensors"))
        for index in range(1, config.num_hidden_layers):
            state = LayerDecode(model.layers[index], model.rotary_emb).state_dict()
            exporter._write_safetensors(path(os.path.join("layers", f"{index}.safetensors")),
                                        {name: state[name] for name in sorted(names)})
        progress(f"wrote {config.num_hidden_layers} layers' weights")

    progress(f"PyTorch reference: prefill {prompt_len} tokens, {steps} greedy tokens")
    arrays = reference(lm, prompt, steps)
    np.savez(path("reference.npz"), **arrays)
    with open(path("done.json"), "w") as f:
        json.dump({"settings": recorded, "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "parameters": params}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
