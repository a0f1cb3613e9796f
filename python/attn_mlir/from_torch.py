"""From a PyTorch module to a compiled function: `from_torch(module, *example_inputs)`.

1. `torch.export.export(module, example_inputs)` here, saved with
   `torch.export.save` to a temporary file (the graph and its weights; the
   module's Python class is not needed to read it back).
2. A child process runs `torch_export/exporter.py`: torch-mlir's FX importer
   turns the program into linalg-on-tensors. torch-mlir's MLIR bindings and
   ours cannot share a process. The child interpreter is this one when it can
   find `torch_mlir`, else `$ATTN_MLIR_TORCH_PYTHON` (a Python with torch and
   torch-mlir, the same torch version as here).
3. The exported text is cached under `~/.cache/attn-mlir/torch/` (or
   `$ATTN_MLIR_CACHE_DIR`, `$XDG_CACHE_HOME/attn-mlir`) by a hash of the
   exported graph's code, every weight's bytes, the inputs' shapes and dtypes
   and the torch version: a second call skips the child process.
4. Our side parses it, runs `attn-optimize` (unless `optimize=False`), then
   `pipeline` if given, and JIT-compiles it (`attn_mlir.compile`).

The result takes torch tensors or numpy arrays and returns torch tensors when
it was given any, else numpy arrays. Every failure is an `AttnError` with one
line saying which step failed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .context import make_context
from .diagnostics import AttnError
from .jit import DEFAULT_PIPELINE, CompiledFunction, compile as jit_compile
from .pipeline import Pipeline, run_pipeline
from .source import parse_module

FUNC_NAME = "forward"
TORCH_PYTHON_ENV = "ATTN_MLIR_TORCH_PYTHON"
EXPORTER = Path(__file__).resolve().parent / "torch_export" / "exporter.py"
# Bump when the exported text for the same program could change (exporter options).
_CACHE_FORMAT = "attn-mlir torch export 1"


class TorchFunction:
    """A compiled PyTorch module: torch tensors or numpy arrays in, the same kind out."""

    def __init__(self, compiled: CompiledFunction, mlir_path: Path):
        self.compiled = compiled
        self.mlir_path = mlir_path  # the exported linalg-on-tensors (cached)
        self.arg_specs, self.result_specs = compiled.arg_specs, compiled.result_specs

    def __call__(self, *inputs):
        torch_in = any(_is_torch_tensor(x) for x in inputs)
        arrays = [x.detach().cpu().numpy() if _is_torch_tensor(x) else x for x in inputs]
        results = self.compiled(*arrays)
        if not torch_in:
            return results
        import torch

        if isinstance(results, tuple):
            return tuple(torch.from_numpy(r) for r in results)
        return torch.from_numpy(results)


def _is_torch_tensor(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def cache_dir() -> Path:
    explicit = os.environ.get("ATTN_MLIR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "attn-mlir"


def torch_python() -> str:
    """The interpreter that runs torch-mlir: this one if it has torch_mlir, else the env var."""
    if importlib.util.find_spec("torch_mlir") is not None:  # finds it without importing it
        return sys.executable
    explicit = os.environ.get(TORCH_PYTHON_ENV)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise AttnError(f"${TORCH_PYTHON_ENV} is '{explicit}', which is not an executable")
        return explicit
    raise AttnError("from_torch needs torch-mlir: install it with pip install -e '.[torch]' "
                    f"(torch==2.13.0 first), or set ${TORCH_PYTHON_ENV} to a Python that has "
                    "torch and torch-mlir")


def _tensor_bytes(tensor) -> bytes:
    import torch

    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def program_key(exported, inputs) -> str:
    """A hash of what the exported text depends on: code, weights, input signature, torch."""
    import torch

    h = hashlib.sha256()

    def add(text: str) -> None:
        h.update(text.encode())
        h.update(b"\0")

    add(_CACHE_FORMAT)
    add(torch.__version__)
    add(exported.graph_module.code)
    for name, x in inputs:
        add(f"input {name} {x.dtype} {tuple(x.shape)}")
    for kind, table in (("state", exported.state_dict), ("constant", exported.constants)):
        for name in sorted(table):
            value = table[name]
            if isinstance(value, torch.Tensor):
                add(f"{kind} {name} {value.dtype} {tuple(value.shape)}")
                h.update(_tensor_bytes(value))
            else:  # script objects and other non-tensor constants
                add(f"{kind} {name} {value!r}")
    return h.hexdigest()[:32]


def _as_torch_inputs(example_inputs) -> list:
    import torch

    tensors = []
    for i, x in enumerate(example_inputs):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        if not isinstance(x, torch.Tensor):
            raise AttnError(f"example input {i} is a {type(x).__name__}; from_torch takes "
                            "tensors or numpy arrays")
        tensors.append(x)
    return tensors


def _export(module, tensors):
    import torch

    try:
        return torch.export.export(module, tuple(tensors))
    except Exception as e:  # torch.export's own errors (graph breaks, unsupported Python)
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        raise AttnError(f"torch.export could not trace the module: {type(e).__name__}: "
                        f"{lines[0][:400] if lines else ''}") from None


def export_mlir(module, *example_inputs, external_weights: bool = False) -> Path:
    """The module as linalg-on-tensors MLIR (function @forward), from the cache or torch-mlir.

    With `external_weights`, the large floating-point weights go to a safetensors
    file next to it (same name, `.safetensors`) that the module loads by name
    (weights.py), instead of hex blobs in the text."""
    try:
        import torch
    except ImportError:
        raise AttnError("from_torch needs torch: pip install torch==2.13.0 (before the other "
                        "packages, so that the CPU build is installed)") from None
    if not isinstance(module, torch.nn.Module):
        raise AttnError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    tensors = _as_torch_inputs(example_inputs)
    exported = _export(module, tensors)
    key = program_key(exported, [(f"arg{i}", x) for i, x in enumerate(tensors)])
    stem = f"{key}-external" if external_weights else key
    target = cache_dir() / "torch" / f"{stem}.mlir"
    weights_file = target.with_suffix(".safetensors")
    if target.exists() and (weights_file.exists() or not external_weights):
        return target
    python = torch_python()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="attn-from-torch-") as tmp:
        program = Path(tmp) / "program.pt2"
        torch.export.save(exported, str(program))
        command = [python, str(EXPORTER), str(program), str(target), FUNC_NAME]
        if external_weights:
            command.append(str(weights_file))
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {done.returncode}"
        if done.returncode == 3:
            detail += (f" (in {python}; set ${TORCH_PYTHON_ENV} to a Python with torch and "
                       "torch-mlir)")
        raise AttnError(f"exporting the module with torch-mlir failed: {detail}")
    return target


def from_torch(module, *example_inputs, optimize: bool = True, pipeline=None,
               lowering: str = DEFAULT_PIPELINE, external_weights: bool = False) -> TorchFunction:
    """Compile a `torch.nn.Module` for the shapes and dtypes of `example_inputs`.

    `optimize` runs `attn-optimize`; `pipeline` (attn-opt syntax or a list) runs
    after it, before the lowering; `lowering` is the JIT's (attn-to-llvm). The
    module is traced as it is: call `.eval()` first for inference.
    `external_weights` keeps the large weights in a memory-mapped safetensors
    file that the compiled function reads in place (see `export_mlir`).
    """
    path = export_mlir(module, *example_inputs, external_weights=external_weights)
    with make_context():
        mlir_module = parse_module(path.read_text(encoding="utf-8"), str(path))
        if optimize:
            run_pipeline(mlir_module, "builtin.module(attn-optimize)")
        if pipeline:
            run_pipeline(mlir_module,
                         Pipeline.parse(pipeline) if isinstance(pipeline, str) else pipeline)
        compiled = jit_compile(mlir_module, entry=FUNC_NAME, pipeline=lowering)
    return TorchFunction(compiled, path)
