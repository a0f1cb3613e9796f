"""attn_mlir.from_torch: PyTorch modules compiled through torch-mlir, against PyTorch itself.

The end-to-end tests need torch, transformers and torch-mlir (here or in
$ATTN_MLIR_TORCH_PYTHON) and are skipped with the reason otherwise; the
choice of the exporter's interpreter is tested without them.
"""

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am

# The module, not the function of the same name that attn_mlir exports.
ft = importlib.import_module("attn_mlir.from_torch")

ROOT = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    for name in ("torch", "transformers"):
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed (pip install torch==2.13.0, then -e '.[torch]')"
    try:
        ft.torch_python()
    except am.AttnError as e:
        return str(e)
    return None


needs_torch = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def test_exporter_python_is_this_one_when_it_has_torch_mlir(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: object() if name == "torch_mlir" else None)
    monkeypatch.setenv(ft.TORCH_PYTHON_ENV, "/elsewhere/python")
    assert ft.torch_python() == sys.executable


def test_exporter_python_from_the_environment(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv(ft.TORCH_PYTHON_ENV, sys.executable)
    assert ft.torch_python() == sys.executable
    monkeypatch.setenv(ft.TORCH_PYTHON_ENV, "/no/such/python")
    with pytest.raises(am.AttnError, match="not an executable"):
        ft.torch_python()
    monkeypatch.delenv(ft.TORCH_PYTHON_ENV)
    with pytest.raises(am.AttnError, match=r"from_torch needs torch-mlir: .*ATTN_MLIR_TORCH_PYTHON"):
        ft.torch_python()


def test_exporter_reports_a_missing_torch_mlir_in_one_line(tmp_path):
    # An interpreter without torch-mlir: the exporter exits 3 with one line.
    done = subprocess.run([sys.executable, "-S", str(ft.EXPORTER), str(tmp_path / "p.pt2"),
                           str(tmp_path / "o.mlir"), "forward"], capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ""})
    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("cannot import torch-mlir: ModuleNotFoundError")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_MLIR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "torch"


@needs_torch
def test_llama_attention_example_matches_pytorch(cache):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "from_torch.py")],
                          capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": OK" in done.stdout
    assert len(list(cache.glob("*.mlir"))) == 1


class _TwoResults:
    """A module with two results, built lazily (torch is optional)."""

    @staticmethod
    def make(scale):
        import torch

        class TwoResults(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = torch.nn.Linear(8, 8, bias=True)
                self.scale = scale

            def forward(self, x):
                s = torch.softmax(self.proj(x) * self.scale, dim=-1)
                return s @ x.transpose(-1, -2), s.sum(-1)

        torch.manual_seed(0)
        return TwoResults().eval()


@needs_torch
def test_results_cache_and_numpy_inputs(cache, monkeypatch):
    import torch

    module = _TwoResults.make(0.5)
    x = torch.randn(4, 8)
    fn = am.from_torch(module, x)
    with torch.no_grad():
        want = module(x)
    got = fn(x)
    assert isinstance(got, tuple) and all(isinstance(g, torch.Tensor) for g in got)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
    got_np = fn(x.numpy().astype(np.float64).astype(np.float32))
    assert isinstance(got_np[0], np.ndarray)
    np.testing.assert_allclose(got_np[0], want[0].numpy(), rtol=1e-5, atol=1e-6)
    assert len(list(cache.glob("*.mlir"))) == 1

    # The same module again: served from the cache, no child process.
    def no_child(*args, **kwargs):
        raise AssertionError("the exporter ran although the IR is cached")

    with monkeypatch.context() as m:
        m.setattr(ft.subprocess, "run", no_child)
        again = am.from_torch(module, x, optimize=False)
    assert again.mlir_path == fn.mlir_path

    # Other weights, another scale (code), another input shape: three new entries.
    changed = _TwoResults.make(0.5)
    with torch.no_grad():
        changed.proj.bias[3] += 1.0
    am.from_torch(changed, x)
    am.from_torch(_TwoResults.make(0.25), x)
    am.from_torch(module, torch.randn(6, 8))
    assert len(list(cache.glob("*.mlir"))) == 4


@needs_torch
def test_untraceable_module_is_one_error_line(cache):
    import torch

    class DataDependent(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x - 1

    with pytest.raises(am.AttnError) as info:
        am.from_torch(DataDependent(), torch.ones(3))
    text = str(info.value)
    assert text.startswith("error: torch.export could not trace the module:") or \
        "torch.export could not trace the module:" in text
    assert "\n" not in text.strip()


@needs_torch
def test_torch_mlir_failure_is_one_error_line(cache):
    import torch

    class Spectrum(torch.nn.Module):
        def forward(self, x):
            return torch.fft.rfft(x).abs()

    with pytest.raises(am.AttnError) as info:
        am.from_torch(Spectrum(), torch.ones(8))
    text = str(info.value).strip()
    assert "exporting the module with torch-mlir failed:" in text and "\n" not in text
    assert not list(cache.glob("*.mlir"))  # nothing half-written is cached


def test_non_module_is_rejected():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    with pytest.raises(am.AttnError, match="takes a torch.nn.Module, got function"):
        am.from_torch(lambda x: x, np.ones(3, np.float32))


@needs_torch
def test_external_weights_are_written_beside_and_read_in_place(cache):
    import torch

    class Wide(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(64, 32, bias=True)  # 8 KiB weight: external
            self.small = torch.nn.Linear(8, 8, bias=False)   # 256 B: stays in the IR

        def forward(self, x):
            return torch.softmax(self.proj(x), dim=-1)[:, :8] @ self.small.weight

    torch.manual_seed(0)
    module = Wide().eval()
    x = torch.randn(4, 64)
    fn = am.from_torch(module, x, external_weights=True)
    with torch.no_grad():
        want = module(x)
    np.testing.assert_allclose(fn(x).numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    text = fn.mlir_path.read_text()
    assert 'ml_program.global private @proj.weight' in text
    assert fn.mlir_path.with_suffix(".safetensors").exists()
    assert len(fn.compiled.weights) == 1
    from attn_mlir import weights

    stored = weights.open_weights(str(fn.mlir_path.with_suffix(".safetensors")))
    np.testing.assert_array_equal(stored.array("proj.weight"), module.proj.weight.detach().numpy())
