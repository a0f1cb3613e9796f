"""Weights held in weights files (weights.py): read in place, bound once, never copied.

The exporter's fixture `hf/external/llama_decoder_layer_external` is the
`llama_decoder_layer` export with its large weights in a safetensors file
beside it (same model, same seed, same reference results).
"""

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mlir import ir

import attn_mlir as am
from attn_mlir import weights
from attn_mlir.ir_utils import walk_ops
from attn_mlir.lowering.lift_weights import lifted_names
from attn_mlir.testing.library import call_library

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "test" / "fixtures" / "hf" / "external"
LAYER = EXTERNAL / "llama_decoder_layer_external.mlir"
IN_TEXT = ROOT / "test" / "fixtures" / "hf" / "llama_decoder_layer.mlir"

LINEAR = """
module attributes {{attn.weights = "{weights}"}} {{
  ml_program.global private @"layer.w"(#ml_program.extern : tensor<{k}x{n}xf32>) : tensor<{k}x{n}xf32>
  func.func @linear(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
    %w = ml_program.global_load_const @"layer.w" : tensor<{k}x{n}xf32>
    %c0 = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<{m}x{n}xf32>
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
    %y = linalg.matmul ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
    return %y : tensor<{m}x{n}xf32>
  }}
}}
"""


def _linear(weights_path, m, k, n) -> str:
    return LINEAR.format(weights=weights_path, m=m, k=k, n=n)


def _npz_case(path):
    data = np.load(path)
    args = [data[f"arg{i}"] for i in range(sum(k.startswith("arg") for k in data.files))]
    return args, data["result0"]


# --- files -----------------------------------------------------------------


def test_safetensors_round_trip_is_a_read_only_view(tmp_path):
    arrays = {"a.w": np.arange(12, dtype=np.float32).reshape(3, 4),
              "half": np.array([1.5, -2], np.float16), "ids": np.array([3, 1, 2], np.int64),
              "mask": np.array([True, False]), "scalar": np.array(2.5, np.float64),
              "empty": np.zeros((0, 3), np.float32)}
    path = tmp_path / "w.safetensors"
    weights.write_safetensors(str(path), arrays)
    opened = weights.open_weights(str(path))
    assert opened.names() == list(arrays)
    for name, array in arrays.items():
        got = opened.array(name)
        assert got.dtype == array.dtype and got.shape == array.shape
        np.testing.assert_array_equal(got, array)
    view = opened.array("a.w")
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0] = 1.0
    assert weights.open_weights(str(path)) is opened  # mapped once


def test_a_changed_file_is_mapped_again(tmp_path):
    path = tmp_path / "w.safetensors"
    weights.write_safetensors(str(path), {"w": np.zeros(4, np.float32)})
    first = weights.open_weights(str(path))
    weights.write_safetensors(str(path), {"w": np.ones(4, np.float32)})
    second = weights.open_weights(str(path))
    assert second is not first
    np.testing.assert_array_equal(second.array("w"), np.ones(4, np.float32))


def test_npz_members_are_mapped(tmp_path):
    path = tmp_path / "w.npz"
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.savez(path, w=w, b=np.array([1, 2], np.int32))
    opened = weights.open_weights(str(path))
    np.testing.assert_array_equal(opened.array("w"), w)
    np.testing.assert_array_equal(opened.array("b"), [1, 2])
    assert isinstance(opened.array("w").base, np.ndarray)  # a view, not a decompressed copy


def test_compressed_npz_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "w.npz"
    np.savez_compressed(path, w=np.zeros(3, np.float32))
    with pytest.raises(weights.WeightsError, match="compressed and cannot be mapped"):
        weights.open_weights(str(path))


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:5], "shorter than 8 bytes"),
    (lambda raw: raw[:60], "header of"),
    (lambda raw: raw[:8] + b"{" * (len(raw) - 8), "not JSON"),
    (lambda raw: raw[:-4], "lies outside the file"),
])
def test_damaged_safetensors_are_errors(tmp_path, damage, message):
    path = tmp_path / "w.safetensors"
    weights.write_safetensors(str(path), {"w": np.arange(8, dtype=np.float32)})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(weights.WeightsError, match=message):
        weights.open_weights(str(path))


def test_not_a_zip_npz_is_an_error(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(weights.WeightsError, match="not a readable .npz archive"):
        weights.open_weights(str(path))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", b"\x93NUMPY garbage")
    with pytest.raises(weights.WeightsError):
        weights.open_weights(str(path))


def test_a_folder_a_device_or_a_pipe_is_not_a_weights_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (tmp_path, "/dev/zero", fifo):  # a pipe would block a reader forever
        with pytest.raises(weights.WeightsError, match="is not a regular file"):
            weights.open_weights(str(path))


# --- the JIT ---------------------------------------------------------------


def test_compiled_function_reads_the_mapped_file_in_place(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 48)).astype(np.float32)
    path = tmp_path / "w.safetensors"
    weights.write_safetensors(str(path), {"layer.w": w})
    fn = am.compile(_linear(path, 5, 64, 48))
    assert fn.workspace_bytes >= 0 and len(fn.arg_specs) == 1  # the weight is not the caller's
    x = rng.standard_normal((5, 64)).astype(np.float32)
    np.testing.assert_allclose(fn(x), x @ w, rtol=1e-5, atol=1e-5)
    mapped = weights.open_weights(str(path)).array("layer.w")
    assert len(fn.weights) == 1 and np.shares_memory(fn.weights[0], mapped)
    assert lifted_names(fn.llvm_module.operation, "linear") == ["layer.w"]
    # No global holds the weight's bytes: the lowered module has no 64x48 constant.
    llvm_text = str(fn.llvm_module)
    assert "array<64 x array<48 x f32>>" not in llvm_text and "dense_resource<" not in llvm_text


def test_npz_weights_compile_too(tmp_path):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "w.npz"
    np.savez(path, **{"layer.w": w})
    fn = am.compile(_linear(path, 2, 3, 4))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(fn(x), x @ w)


def test_relative_paths_are_taken_from_the_mlir_file(tmp_path):
    (tmp_path / "model").mkdir()
    weights.write_safetensors(str(tmp_path / "model" / "w.safetensors"),
                              {"layer.w": np.eye(3, 4, dtype=np.float32)})
    (tmp_path / "model" / "linear.mlir").write_text(_linear("w.safetensors", 2, 3, 4))
    with am.make_context():
        module = am.load(str(tmp_path / "model" / "linear.mlir"))
        fn = am.compile(module)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(fn(x), x @ np.eye(3, 4, dtype=np.float32))


def test_attn_run_and_the_loops_schedule_bind_the_file():
    args, expected = _npz_case(EXTERNAL / "llama_decoder_layer_external.npz")
    for pipeline in ("builtin.module(attn-to-llvm)",
                     "builtin.module(attn-to-llvm{schedule=loops raise=false})"):
        with am.make_context():
            fn = am.compile(am.load(str(LAYER)), pipeline=pipeline, opt_level=0)
        np.testing.assert_allclose(fn(*args), expected, rtol=1e-4, atol=1e-5, err_msg=pipeline)
        assert len(fn.weights) == 5


def test_external_layer_optimizes_and_raises_like_the_in_text_export():
    args, expected = _npz_case(EXTERNAL / "llama_decoder_layer_external.npz")
    with am.make_context():
        module = am.load(str(LAYER))
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        fn = am.compile(module, opt_level=0)
    np.testing.assert_allclose(fn(*args), expected, rtol=1e-4, atol=1e-5)
    counts = []
    for path in (LAYER, IN_TEXT):
        with am.make_context():
            module = am.load(str(path))
            am.run_pipeline(module, "builtin.module(attn-raise)")
            counts.append(str(module).count("attn.sdpa"))
    assert counts[0] == counts[1] >= 1


def test_library_embeds_file_weights_without_the_ir(tmp_path):
    """attn-compile puts file-held weights into the library's read-only data with the
    assembler's .incbin (no copy through the IR): the lowered kernels take them as
    arguments and the wrapper passes the embedded bytes."""
    from attn_mlir.aot import compile_library

    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    weights.write_safetensors(str(tmp_path / "w.safetensors"), {"layer.w": w})
    lib = compile_library(_linear(tmp_path / "w.safetensors", 2, 3, 4), tmp_path / "liblin.so",
                          threads=1)
    assert [symbol for symbol, _ in lib.entries[0].weights] == ["attn_weight_0"]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = call_library(tmp_path, lib.library, "linear", [x], [(2, 4)])[0]
    np.testing.assert_allclose(out, x @ w)
    (tmp_path / "w.safetensors").unlink()  # the library holds its own copy
    np.testing.assert_allclose(call_library(tmp_path, lib.library, "linear", [x], [(2, 4)])[0],
                               x @ w)


@pytest.mark.parametrize("pipeline", [None, "builtin.module(attn-optimize)"])
def test_library_of_the_external_layer_matches_pytorch(tmp_path, pipeline):
    """The Llama decoder layer with its weights in a file, through a library: the file's
    weights and (optimized) the fused and packed ones derived from them."""
    from attn_mlir.aot import compile_library

    args, expected = _npz_case(EXTERNAL / "llama_decoder_layer_external.npz")
    with am.make_context():
        module = am.load(str(LAYER))
        lib = compile_library(module, tmp_path / "liblayer.so", pipeline=pipeline, threads=1)
    bound = len(lib.entries[0].weights)
    assert bound == 5 if pipeline is None else bound >= 1  # fused: fewer, derived weights
    out = call_library(tmp_path, lib.library, "forward", args, [expected.shape])[0]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


# --- memory ----------------------------------------------------------------


_PEAK = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import attn_mlir as am
    from attn_mlir import weights
    path, k, module = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    w = weights.open_weights(path).array("layer.w")
    x = np.ones((4, k), np.float32)
    text = open(module).read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = am.compile(text)
    y = fn(x)
    assert np.allclose(y, x @ w, rtol=1e-4, atol=1e-3)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
""")


def _peak_growth(tmp_path, k, n) -> int:
    """Bytes the peak resident memory of a fresh process grows by while compiling and
    running a matmul whose k x n weight is in a weights file."""
    w = np.random.default_rng(1).standard_normal((k, n), dtype=np.float32)
    path = tmp_path / f"w{k}x{n}.safetensors"
    weights.write_safetensors(str(path), {"layer.w": w})
    module = tmp_path / f"linear{k}x{n}.mlir"
    module.write_text(_linear(path, 4, k, n))
    script = tmp_path / "peak.py"
    script.write_text(_PEAK)
    env = dict(os.environ, ATTN_MLIR_CHECK_REWRITES="0")
    done = subprocess.run([sys.executable, str(script), str(path), str(k), str(module)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_peak_memory_grows_by_the_weight_bytes_once(tmp_path):
    """A 32 MiB weight costs its mapped pages, once, over what a tiny one costs (the
    compiler's own memory); printed into the IR it would cost several times that."""
    k, n = 2048, 4096
    extra = _peak_growth(tmp_path, k, n) - _peak_growth(tmp_path, 16, 16)
    nbytes = k * n * 4
    assert extra < 1.5 * nbytes, f"{extra / 2**20:.0f} MiB more for a {nbytes >> 20} MiB weight"


# --- weights that rewrites compute -------------------------------------------


def _large_constants(module) -> list[str]:
    """Printed types of the IR constants of 1024 elements or more."""
    found = []
    for op in walk_ops(module.operation, "arith.constant"):
        t = op.results[0].type
        if isinstance(t, ir.RankedTensorType) and np.prod(t.shape) >= 1024:
            found.append(str(t))
    return found


def test_optimized_weights_stay_out_of_the_ir_and_are_bound():
    args, expected = _npz_case(EXTERNAL / "llama_decoder_layer_external.npz")
    with am.make_context():
        module = am.load(str(LAYER))
        am.run_pipeline(module, "builtin.module(attn-optimize)")
        derived = weights.derived_names(module.operation)
        assert derived, "attn-optimize computed no weight from the file-held ones"
        assert _large_constants(module) == []
        loaded = {ir.FlatSymbolRefAttr(op.attributes["global"]).value
                  for op in walk_ops(module.operation, "ml_program.global_load_const")}
        assert set(derived) <= loaded  # what later rewrites replaced is forgotten
        first = am.compile(module, opt_level=0)
        second = am.compile(module, opt_level=0)  # the lowering's own weights stay its own
        assert weights.derived_names(module.operation).keys() == derived.keys()
    for fn in (first, second):
        np.testing.assert_allclose(fn(*args), expected, rtol=1e-4, atol=1e-5)
    bound = lifted_names(first.llvm_module.operation, "forward")
    assert any(name.startswith("attn.derived.") for name in bound)


def test_lowering_packs_file_held_weights_once():
    """The matmuls read `W^T` of torch's Linear weights: packed at compile time into a
    derived weight the function is bound to, as for weights in the IR."""
    with am.make_context():
        fn = am.compile(am.load(str(LAYER)), opt_level=0)
    bound = lifted_names(fn.llvm_module.operation, "forward")
    assert any(name.startswith("attn.derived.") for name in bound), bound
    assert "linalg.transpose" not in str(fn.llvm_module)


def test_optimize_output_file_round_trips(tmp_path):
    out = tmp_path / "opt.mlir"
    done = subprocess.run([str(Path(sys.executable).parent / "attn-opt"), str(LAYER),
                           "--attn-optimize", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "opt.weights.safetensors"
    stored = weights.open_weights(str(written))
    text = out.read_text()
    assert stored.names() and all(f"@{name}" in text for name in stored.names())
    args, expected = _npz_case(EXTERNAL / "llama_decoder_layer_external.npz")
    with am.make_context():
        fn = am.compile(am.load(str(out)), opt_level=0)
    np.testing.assert_allclose(fn(*args), expected, rtol=1e-4, atol=1e-5)


def test_derived_weights_of_another_process_are_an_error(tmp_path):
    text = LINEAR.format(weights="attn-derived:0123456789abcdef", m=2, k=3, n=4)
    with pytest.raises(am.AttnError, match="computed in another process"):
        am.compile(text)


def test_all_equal_blob_inlines_outside_a_location_context():
    """An all-ones dense_resource blob (an RMSNorm weight as torch-mlir prints it)
    becomes a splat when a pass runs from the Python API, with no `with Location`
    around it (it once ended in "internal error ... requires a Location")."""
    text = textwrap.dedent("""
        func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
          %w = arith.constant dense_resource<ones> : tensor<4xf32>
          %e = tensor.empty() : tensor<4xf32>
          %y = linalg.mul ins(%x, %w : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
          return %y : tensor<4xf32>
        }
        {-#
          dialect_resources: { builtin: { ones: "0x040000000000803F0000803F0000803F0000803F" } }
        #-}
        """)
    with am.make_context():
        module = am.parse(text)
        am.run_pipeline(module, "builtin.module(attn-inline-dense-resources)")
        assert "dense<1.000000e+00> : tensor<4xf32>" in str(module)
        x = np.arange(4, dtype=np.float32)
        np.testing.assert_array_equal(am.compile(module)(x), x)
