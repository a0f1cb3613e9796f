"""Contractions over a concatenated B (lowering/split_concat_operands.py): a KV cache
read in place, part by part, gives the results of the concat it replaces; the
contractions it must not touch are left as they are."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.context import make_context
from attn_mlir.ir_utils import walk_ops
from attn_mlir.lowering.cpu_schedule import _in_loop, dot_form
from attn_mlir.lowering.split_concat_operands import split_concat_operands
from attn_mlir.source import parse_module


def t(*shape):
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def decode_step(h, c, d, return_cache=False):
    """One query per head against concat(cache, new) keys and values (HF's DynamicCache)."""
    n = c + 1
    ret = f"{t(h, 1, d)}, {t(h, n, d)}" if return_cache else t(h, 1, d)
    values = "%o, %kall" if return_cache else "%o"
    return f"""func.func @main(%q: {t(h, 1, d)}, %kc: {t(h, c, d)}, %kn: {t(h, 1, d)},
                     %vc: {t(h, c, d)}, %vn: {t(h, 1, d)}) -> ({ret}) {{
  %zero = arith.constant 0.0 : f32
  %kall = tensor.concat dim(1) %kc, %kn : ({t(h, c, d)}, {t(h, 1, d)}) -> {t(h, n, d)}
  %vall = tensor.concat dim(1) %vc, %vn : ({t(h, c, d)}, {t(h, 1, d)}) -> {t(h, n, d)}
  %ekt = tensor.empty() : {t(h, d, n)}
  %kt = linalg.transpose ins(%kall : {t(h, n, d)}) outs(%ekt : {t(h, d, n)}) permutation = [0, 2, 1]
  %es = tensor.empty() : {t(h, 1, n)}
  %zs = linalg.fill ins(%zero : f32) outs(%es : {t(h, 1, n)}) -> {t(h, 1, n)}
  %s = linalg.batch_matmul ins(%q, %kt : {t(h, 1, d)}, {t(h, d, n)}) outs(%zs : {t(h, 1, n)}) -> {t(h, 1, n)}
  %p = linalg.softmax dimension(2) ins(%s : {t(h, 1, n)}) outs(%es : {t(h, 1, n)}) -> {t(h, 1, n)}
  %eo = tensor.empty() : {t(h, 1, d)}
  %zo = linalg.fill ins(%zero : f32) outs(%eo : {t(h, 1, d)}) -> {t(h, 1, d)}
  %o = linalg.batch_matmul ins(%p, %vall : {t(h, 1, n)}, {t(h, n, d)}) outs(%zo : {t(h, 1, d)}) -> {t(h, 1, d)}
  return {values} : {ret}
}}"""


def decode_reference(q, kc, kn, vc, vn):
    k = np.concatenate([kc, kn], axis=1).astype(np.float64)
    v = np.concatenate([vc, vn], axis=1).astype(np.float64)
    s = q.astype(np.float64) @ k.transpose(0, 2, 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def split(text):
    """(contractions split, concats left, batched dot forms) after the rewrite."""
    with make_context():
        module = parse_module(text, "<case>")
        count = split_concat_operands(module.operation, _in_loop)
        module.operation.verify()
        ops = walk_ops(module.operation)
        return (count, sum(op.name == "tensor.concat" for op in ops),
                sum(op.name == "linalg.batch_matmul" and dot_form(op) for op in ops))


def _random(fn, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("h, c, d", [(2, 64, 64), (16, 256, 128), (3, 40, 24)])
def test_decode_step_reads_the_cache_in_place(h, c, d, threads):
    text = decode_step(h, c, d)
    # Both contractions split; the scores' concat of the two parts is the only concat
    # left; the cached keys are read through the transposed map (as dot products
    # when d is a multiple of 64 and c of 8).
    count, concats, dots = split(text)
    assert (count, concats) == (2, 1)
    assert dots == (1 if d % 64 == 0 and c % 8 == 0 else 0)
    fn = am.compile(text, pipeline=f"builtin.module(attn-to-llvm{{threads={threads}}})")
    args = _random(fn)
    np.testing.assert_allclose(fn(*args), decode_reference(*args), rtol=1e-4, atol=1e-5)


def test_concat_used_elsewhere_stays_and_both_results_hold():
    text = decode_step(2, 64, 64, return_cache=True)
    count, concats, _ = split(text)
    assert (count, concats) == (2, 2)  # the returned cache is still built
    fn = am.compile(text)
    args = _random(fn, 1)
    out, cache = fn(*args)
    np.testing.assert_allclose(out, decode_reference(*args), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(cache, np.concatenate([args[1], args[2]], axis=1))


def matmul(b_def: str, a_shape, b_args: str, n: int, a_map: str = ""):
    m, k = a_shape
    maps = f"indexing_maps = [{a_map}, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>] " \
        if a_map else ""
    return f"""func.func @main(%a: {t(m, k) if not a_map else t(k, m)}{b_args}) -> {t(m, n)} {{
  %zero = arith.constant 0.0 : f32
{b_def}
  %e = tensor.empty() : {t(m, n)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {t(m, n)}) -> {t(m, n)}
  %r = linalg.matmul {maps}ins(%a, %b : {t(m, k) if not a_map else t(k, m)}, {t(k, n)}) outs(%z : {t(m, n)}) -> {t(m, n)}
  return %r : {t(m, n)}
}}"""


def test_matmul_over_concats_along_n_and_k():
    along_n = matmul(f"  %b = tensor.concat dim(1) %b1, %b2 : ({t(48, 20)}, {t(48, 12)}) -> {t(48, 32)}",
                     (5, 48), f", %b1: {t(48, 20)}, %b2: {t(48, 12)}", 32)
    along_k = matmul(f"  %b = tensor.concat dim(0) %b1, %b2, %b3 : ({t(16, 32)}, {t(8, 32)}, {t(24, 32)}) -> {t(48, 32)}",
                     (5, 48), f", %b1: {t(16, 32)}, %b2: {t(8, 32)}, %b3: {t(24, 32)}", 32)
    assert split(along_n)[:2] == (1, 1)  # C's concat of the two products
    assert split(along_k)[:2] == (1, 0)  # accumulated: no concat at all
    for text in (along_n, along_k):
        fn = am.compile(text)
        a, *parts = _random(fn, 2)
        b = np.concatenate(parts, axis=1 if text is along_n else 0).astype(np.float64)
        np.testing.assert_allclose(fn(a, *parts), a @ b, rtol=1e-4, atol=1e-5)


def test_not_split():
    """Concat along the batch dim, A read through a transposed map, a transpose with
    another user, a dynamic part: left alone."""
    h, c, d = 2, 8, 16
    batch = f"""func.func @main(%q: {t(4, 1, d)}, %k1: {t(2, d, c)}, %k2: {t(2, d, c)}) -> {t(4, 1, c)} {{
  %zero = arith.constant 0.0 : f32
  %k = tensor.concat dim(0) %k1, %k2 : ({t(2, d, c)}, {t(2, d, c)}) -> {t(4, d, c)}
  %e = tensor.empty() : {t(4, 1, c)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {t(4, 1, c)}) -> {t(4, 1, c)}
  %s = linalg.batch_matmul ins(%q, %k : {t(4, 1, d)}, {t(4, d, c)}) outs(%z : {t(4, 1, c)}) -> {t(4, 1, c)}
  return %s : {t(4, 1, c)}
}}"""
    assert split(batch) == (0, 1, 0)
    a_transposed = matmul(f"  %b = tensor.concat dim(1) %b1, %b2 : ({t(48, 20)}, {t(48, 12)}) -> {t(48, 32)}",
                          (5, 48), f", %b1: {t(48, 20)}, %b2: {t(48, 12)}", 32,
                          a_map="affine_map<(m, n, k) -> (k, m)>")
    assert split(a_transposed) == (0, 1, 0)
    shared = decode_step(h, c, d).replace(
        "  return %o : ", f"  %kt2 = linalg.transpose ins(%kt : {t(h, d, c + 1)}) outs(%kall : "
        f"{t(h, c + 1, d)}) permutation = [0, 2, 1]\n  return %o : ")
    assert split(shared) == (1, 1, 0)  # only P V (K^T has another user): the keys stay concatenated
    dynamic = matmul(f"  %b = tensor.concat dim(1) %b1, %b2 : (tensor<48x?xf32>, {t(48, 12)}) -> tensor<48x?xf32>\n"
                     f"  %bs = tensor.cast %b : tensor<48x?xf32> to {t(48, 32)}",
                     (5, 48), f", %b1: tensor<48x?xf32>, %b2: {t(48, 12)}", 32).replace(
                         "ins(%a, %b :", "ins(%a, %bs :")
    assert split(dynamic) == (0, 1, 0)


def test_hf_dynamic_cache_decode_step_reads_the_cache_in_place():
    """transformers' LlamaDecoderLayer with its DynamicCache, exported by torch-mlir: the
    keys' and values' concats sit under the collapse that flattens the 4-D matmuls;
    both products are split, and the step (output and the grown cache) matches PyTorch."""
    from pathlib import Path

    from attn_mlir.rewrite_log import current_log

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "hf"
    data = np.load(fixtures / "llama_decode_dynamic_cache.npz")
    args = [data[f"arg{i}"] for i in range(4)]
    current_log.clear()
    fn = am.compile((fixtures / "llama_decode_dynamic_cache.mlir").read_text())
    split_events = [e.message for e in current_log.events if e.fired and "part by part" in e.message]
    assert sorted(m[-1] for m in split_events) == ["K", "N"], split_events
    for got, want in zip(fn(*args), [data[f"result{i}"] for i in range(3)]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_not_split_through_a_collapse_of_the_concat_dim():
    """A concat along a dim that the collapse merges away (the heads) is left alone."""
    text = f"""func.func @main(%q: {t(4, 1, 8)}, %k1: {t(1, 2, 8, 5)}, %k2: {t(1, 2, 8, 5)}) -> {t(4, 1, 5)} {{
  %zero = arith.constant 0.0 : f32
  %k = tensor.concat dim(1) %k1, %k2 : ({t(1, 2, 8, 5)}, {t(1, 2, 8, 5)}) -> {t(1, 4, 8, 5)}
  %kc = tensor.collapse_shape %k [[0, 1], [2], [3]] : {t(1, 4, 8, 5)} into {t(4, 8, 5)}
  %e = tensor.empty() : {t(4, 1, 5)}
  %z = linalg.fill ins(%zero : f32) outs(%e : {t(4, 1, 5)}) -> {t(4, 1, 5)}
  %s = linalg.batch_matmul ins(%q, %kc : {t(4, 1, 8)}, {t(4, 8, 5)}) outs(%z : {t(4, 1, 5)}) -> {t(4, 1, 5)}
  return %s : {t(4, 1, 5)}
}}"""
    assert split(text) == (0, 1, 0)
    fn = am.compile(text)
    q, k1, k2 = _random(fn, 5)
    k = np.concatenate([k1, k2], axis=1).reshape(4, 8, 5).astype(np.float64)
    np.testing.assert_allclose(fn(q, k1, k2), q @ k, rtol=1e-4, atol=1e-5)


def test_split_keeps_each_operand_element_type():
    """f16 operands accumulated in f32: the slices of A stay f16, the IR verifies."""
    text = """func.func @main(%p: tensor<2x1x24xf16>, %v1: tensor<2x16x8xf16>, %v2: tensor<2x8x8xf16>) -> tensor<2x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %v = tensor.concat dim(1) %v1, %v2 : (tensor<2x16x8xf16>, tensor<2x8x8xf16>) -> tensor<2x24x8xf16>
  %e = tensor.empty() : tensor<2x1x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x1x8xf32>) -> tensor<2x1x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1x24xf16>, tensor<2x24x8xf16>) outs(%z : tensor<2x1x8xf32>) -> tensor<2x1x8xf32>
  return %o : tensor<2x1x8xf32>
}"""
    assert split(text) == (1, 0, 0)
