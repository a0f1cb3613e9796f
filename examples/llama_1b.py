"""A 1.1B-parameter Llama, compiled and run: prefill a prompt, then greedy decoding with a KV cache.

    python examples/llama_1b.py [--tokens 32] [--prompt 128] [--layers 22] [--threads 0]

The model is transformers' `LlamaForCausalLM` with a 1.1B-parameter
configuration (22 layers, hidden 2048, 32 query heads / 4 key-value heads,
intermediate 5632, vocabulary 32000), random weights from a seed, built from
the config (nothing is downloaded). f32 weights: 4.4 GB.

1. **Export** (first run only). A child process in an interpreter with torch,
   torch-mlir and transformers (this one if it has them, else
   `$ATTN_MLIR_TORCH_PYTHON`) runs examples/llama_1b_torch.py: torch-mlir
   exports the embedding, one decoder layer twice (a prefill of the prompt; a
   decode step with fixed-capacity key/value caches and a position) and the
   final norm + lm_head, each loading its weights by name from safetensors
   files (`layers/K.safetensors` for layer K); then it runs PyTorch's own
   `LlamaForCausalLM.forward` with a `DynamicCache` for the reference tokens.
   Everything goes to a cache folder keyed by the configuration and seed
   (`$ATTN_MLIR_CACHE_DIR`, else `~/.cache/attn-mlir`), so a second run loads
   neither torch nor the PyTorch model.
2. **Compile.** Each module is optimized (`attn-optimize`) and compiled once,
   with its weights lifted to arguments first (`attn-lift-weights`): the
   compiled code reads the memory-mapped files as they are, no copy. The
   layer functions are then bound to each layer's file
   (`CompiledFunction.with_weights`): 22 layers, one compilation, and the
   process holds the weights about once.
3. **Generate.** Prefill of the prompt through the 22 layers (each returns its
   keys and values, copied into caches of capacity prompt + tokens), then one
   decode step per token. Each token must equal PyTorch's; the logits are
   compared too.

Prints compile time, peak resident memory (the whole process, as
`/usr/bin/time -v` reports it) and tokens/s, with PyTorch's figures from the
reference run (measured when the cache entry was made; `--fresh` remakes it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import attn_mlir
from attn_mlir.from_torch import EXPORTER, cache_dir, torch_python

HERE = Path(__file__).resolve().parent
TORCH_SIDE = HERE / "llama_1b_torch.py"
CONFIG = dict(hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
              num_key_value_heads=4, intermediate_size=5632, vocab_size=32000,
              rms_norm_eps=1e-5, max_position_embeddings=2048, rope_theta=10000.0,
              tie_word_embeddings=False)
SEED = 0
# Bump when the files written for the same settings change.
_FORMAT = "llama_1b 1"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def peak_rss_bytes() -> int:
    """Peak resident set of this process (ru_maxrss, what `/usr/bin/time -v` reports)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def export(settings: dict, fresh: bool) -> Path:
    """The cache folder for `settings`, made by the torch-side child if missing."""
    sources = [TORCH_SIDE.read_bytes(), Path(EXPORTER).read_bytes()]
    key = hashlib.sha256(json.dumps([_FORMAT, settings], sort_keys=True).encode()
                         + b"".join(sources)).hexdigest()[:16]
    folder = cache_dir() / "llama_1b" / key
    if (folder / "done.json").exists() and not fresh:
        progress(f"export and reference: cached in {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    python = torch_python()
    progress(f"export and reference: {python} {TORCH_SIDE.name} -> {folder}")
    start = time.perf_counter()
    done = subprocess.run([python, str(TORCH_SIDE), str(EXPORTER), str(folder),
                           json.dumps(settings)], stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not (folder / "done.json").exists():
        raise SystemExit(f"error: the export child failed (exit {done.returncode})")
    progress(f"export and reference took {time.perf_counter() - start:.0f} s")
    return folder


class Model:
    """The compiled pieces: the embedding, one prefill and one decode function bound to
    each layer's weights, the head."""

    def __init__(self, folder: Path, layers: int, threads: int, optimize: bool):
        lower = f"builtin.module(attn-to-llvm{{threads={threads}}})"

        def build(name: str):
            # Weights become arguments before any pass reads them: the compiled code
            # reads the mapped files as they are, so it serves every layer.
            module = attn_mlir.load(str(folder / name))
            attn_mlir.run_pipeline(module, "builtin.module(attn-lift-weights)")
            if optimize:
                attn_mlir.optimize(module)
            function = attn_mlir.compile(module, pipeline=lower)
            progress(f"compiled {name} ({time.perf_counter() - start:.1f} s)")
            return function

        start = time.perf_counter()
        with attn_mlir.make_context():
            self.embed_prefill = build("embed_prefill.mlir")
            self.embed_decode = build("embed_decode.mlir")
            self.final = build("final.mlir")
            prefill, decode = build("layer_prefill.mlir"), build("layer_decode.mlir")
        files = [folder / "layers" / f"{index}.safetensors" for index in range(layers)]
        self.prefill = [prefill.with_weights(f) for f in files]
        self.decode = [decode.with_weights(f) for f in files]
        self.cache_shape = decode.arg_specs[2].shape

    def generate(self, prompt: np.ndarray, tokens: int):
        """Greedy tokens after `prompt` [1, P]: yields (token, logits, seconds) per token."""
        length = prompt.shape[1]
        start = time.perf_counter()
        hidden = self.embed_prefill(prompt)
        # Two sets of caches: a decode step reads one and writes the other.
        caches = [[np.zeros(self.cache_shape, np.float32) for _ in range(4)] for _ in self.decode]
        for layer, cache in zip(self.prefill, caches):
            hidden, keys, values = layer(hidden)
            cache[0][:, :, :length] = keys
            cache[1][:, :, :length] = values
        logits = self.final(np.ascontiguousarray(hidden[:, -1:]))[0, 0]
        token = int(np.argmax(logits))
        yield token, logits, time.perf_counter() - start
        hidden = np.empty((1, 1, hidden.shape[2]), np.float32)
        for step in range(1, tokens):
            start = time.perf_counter()
            position = np.array([length + step - 1], np.int64)
            x = self.embed_decode(np.array([[token]], np.int64))
            for layer, cache in zip(self.decode, caches):
                layer(x, position, cache[0], cache[1], out=(hidden, cache[2], cache[3]))
                cache[:] = [cache[2], cache[3], cache[0], cache[1]]
                x, hidden = hidden, x
            logits = self.final(x)[0, 0]
            token = int(np.argmax(logits))
            yield token, logits, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="tokens to generate")
    parser.add_argument("--prompt", type=int, default=128, help="prompt length (random token ids)")
    parser.add_argument("--layers", type=int, default=CONFIG["num_hidden_layers"],
                        help="decoder layers (fewer for a quick look; 22 is the 1.1B model)")
    parser.add_argument("--threads", type=int, default=0, help="threads (0: all cores)")
    parser.add_argument("--no-optimize", dest="optimize", action="store_false",
                        help="skip attn-optimize before lowering")
    parser.add_argument("--fresh", action="store_true",
                        help="export and run the PyTorch reference again")
    parser.add_argument("--from", dest="folder", type=Path, metavar="DIR",
                        help="an export folder made by llama_1b_torch.py (any configuration; "
                             "the other size flags are then ignored)")
    args = parser.parse_args(argv)
    for flag in ("tokens", "prompt", "layers"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1")

    if args.folder is not None:
        folder = args.folder
        if not (folder / "done.json").is_file():
            parser.error(f"{folder} is not a complete export folder (no done.json)")
        settings = json.loads((folder / "done.json").read_text())["settings"]
    else:
        settings = dict(CONFIG, num_hidden_layers=args.layers, seed=SEED, prompt=args.prompt,
                        steps=args.tokens)
        folder = export(settings, args.fresh)
    args.layers, args.prompt, args.tokens = (settings["num_hidden_layers"], settings["prompt"],
                                             settings["steps"])
    reference = np.load(folder / "reference.npz")
    weight_bytes = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))

    start = time.perf_counter()
    model = Model(folder, args.layers, args.threads, args.optimize)
    compile_seconds = time.perf_counter() - start
    progress(f"compiled in {compile_seconds:.1f} s")

    tokens, seconds, worst, ok = [], [], 0.0, True
    for step, (token, logits, took) in enumerate(model.generate(reference["prompt"], args.tokens)):
        want = int(reference["tokens"][step])
        error = float(np.max(np.abs(logits - reference["logits"][step])))
        ok = ok and token == want
        worst = max(worst, error)
        tokens.append(token)
        seconds.append(took)
        print(f"token {step + 1:2d}: {token:5d} (PyTorch {want:5d}) max |logits - PyTorch| "
              f"{error:.1e} {took * 1e3:8.1f} ms{'' if token == want else '  MISMATCH'}",
              flush=True)

    torch_prefill = float(reference["torch_prefill_seconds"])
    torch_decode = reference["torch_decode_seconds"]
    ours_decode = np.array(seconds[1:])
    print(f"weights {weight_bytes / 1e9:.2f} GB in {args.layers} layers; compile {compile_seconds:.1f} s; "
          f"peak RSS {peak_rss_bytes() / 1e9:.2f} GB ({peak_rss_bytes() / weight_bytes:.2f}x the weights)")
    print(f"prefill {args.prompt} tokens: {seconds[0]:.2f} s (PyTorch {torch_prefill:.2f} s)")
    if len(ours_decode):
        print(f"decode: {1 / np.median(ours_decode):.2f} tokens/s "
              f"(PyTorch {1 / np.median(torch_decode):.2f} tokens/s, eager attention, "
              "measured with the reference)")
    print(f"{len(tokens)} tokens {'identical to' if ok else 'DIFFER from'} PyTorch's; "
          f"max |logits - PyTorch| = {worst:.1e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
