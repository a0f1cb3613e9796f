"""attn.sdpa lowered by attn-lower (online-softmax kernel and naive chain) against numpy."""

import numpy as np
import pytest

from attn_cases import compile_text, random_inputs, sdpa_module


def reference(q, k, v, scale, mask=None, causal=False):
    """softmax(scale * Q K^T + mask, causal bottom-right aligned) V in float64;
    grouped-query heads repeated; rows with every key masked give 0."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    if q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, rep, axis=-3), np.repeat(v, rep, axis=-3)
    s = scale * (q @ np.swapaxes(k, -1, -2))
    if mask is not None:
        s = s + mask
    if causal:
        sq, skv = s.shape[-2:]
        s = np.where(np.tril(np.ones((sq, skv), bool), k=skv - sq), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    total = e.sum(axis=-1, keepdims=True)
    out = (e @ v) / np.where(total == 0, 1.0, total)
    return np.where(total == 0, 0.0, out)


CASES = {
    # name: (q, k, v, mask, causal, tiles)
    "plain_2d": ([7, 8], [10, 8], [10, 6], None, False, None),
    "single_query": ([1, 80], [33, 80], [33, 80], None, False, None),
    "seven_queries_d80": ([7, 80], [70, 80], [70, 80], None, True, (4, 16)),
    "thousand": ([1000, 16], [1000, 16], [1000, 8], None, False, None),
    "thousand_causal": ([1000, 16], [1000, 16], [1000, 8], None, True, None),
    "full_mask": ([2, 7, 8], [2, 10, 8], [2, 10, 8], [7, 10], False, (4, 4)),
    "padding_mask": ([2, 4, 7, 8], [2, 2, 10, 8], [2, 2, 10, 6], [2, 1, 1, 10], False, (3, 4)),
    "per_head_mask": ([2, 3, 5, 8], [2, 3, 6, 8], [2, 3, 6, 8], [3, 5, 6], False, (2, 4)),
    "causal_square": ([4, 9, 8], [4, 9, 8], [4, 9, 8], None, True, (4, 4)),
    # Five full query tiles per group, visited 0, 4, 1, 3, 2, and a tail of one row.
    "causal_reordered_tiles": ([2, 21, 8], [2, 21, 8], [2, 21, 8], None, True, (4, 8)),
    "causal_decode": ([2, 3, 8], [2, 11, 8], [2, 11, 8], None, True, (2, 4)),
    "causal_mask_gqa": ([2, 4, 7, 8], [2, 2, 10, 8], [2, 2, 10, 6], [7, 10], True, (4, 4)),
    "gqa_4_over_1": ([1, 4, 5, 16], [1, 1, 9, 16], [1, 1, 9, 16], None, False, (2, 4)),
    # Sq > Skv with causal: the first Sq - Skv rows see no key and give 0.
    "causal_fully_masked_rows": ([6, 8], [3, 8], [3, 8], None, True, (4, 2)),
}


def _run(name, naive=False):
    q, k, v, mask, causal, tiles = CASES[name]
    scale = 0.3
    if naive:
        lower = "attn-lower{naive}"
    elif tiles:
        lower = f"attn-lower{{tile-q={tiles[0]} tile-kv={tiles[1]}}}"
    else:
        lower = "attn-lower"
    fn = compile_text(sdpa_module(q, k, v, mask, scale=scale, causal=causal),
                      pipeline=f"builtin.module({lower}, attn-to-llvm)")
    inputs = random_inputs(fn, seed=len(name))
    want = reference(*inputs[:3], scale, inputs[3] if mask else None, causal)
    copies = [a.copy() for a in inputs]
    got = fn(*inputs)
    for a, c in zip(inputs, copies):  # the kernel never writes into its inputs
        np.testing.assert_array_equal(a, c)
    return got, want


@pytest.mark.parametrize("name", sorted(CASES))
def test_online_softmax_kernel_matches_numpy(name):
    got, want = _run(name)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["plain_2d", "full_mask", "padding_mask", "per_head_mask",
                                  "causal_decode", "causal_mask_gqa", "gqa_4_over_1",
                                  "seven_queries_d80"])
def test_naive_lowering_matches_numpy(name):
    got, want = _run(name, naive=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_ill_shaped_op_is_reported_not_lowered():
    import attn_mlir as am

    text = sdpa_module([4, 8], [5, 8], [6, 8], scale=1.0, causal=False)
    with pytest.raises(am.AttnError, match="key and value must have the same sequence length"):
        compile_text(text)


def test_attn_ops_example_matches_numpy():
    """examples/attn_ops_gqa_causal.mlir: interleaved partial rotary, then causal GQA."""
    from pathlib import Path

    from test_attn_rotary import reference as rotary_reference

    path = Path(__file__).resolve().parents[2] / "examples" / "attn_ops_gqa_causal.mlir"
    fn = compile_text(path.read_text())
    q, k, v, cos, sin = random_inputs(fn, seed=3)
    qr = rotary_reference(q, cos, sin, "interleaved", 32)
    kr = rotary_reference(k, cos, sin, "interleaved", 32)
    np.testing.assert_allclose(fn(q, k, v, cos, sin), reference(qr, kr, v, 0.125, causal=True),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kv_heads", [3, 1])
def test_decode_step_either_lowering_matches_numpy(kv_heads):
    """max-score-bytes > 0: a decode step without grouped-query sharing takes the
    chain, with sharing the fused kernel; both agree with numpy."""
    fn = compile_text(sdpa_module([3, 1, 16], [kv_heads, 40, 16], [kv_heads, 40, 16], None,
                                  scale=0.3, causal=False),
                      pipeline="builtin.module(attn-lower{max-score-bytes=1}, attn-to-llvm)")
    inputs = random_inputs(fn, seed=kv_heads)
    np.testing.assert_allclose(fn(*inputs), reference(*inputs, 0.3), rtol=1e-4, atol=1e-5)


def test_key_blocks_copy_nothing():
    """Each key block's score tile and row max start from fills of their own
    buffers: the equal fills of the running state outside the key loop (zeros,
    -inf) are not shared with them (CSE would merge each pair, and bufferization
    would then copy the state's initial value into every block)."""
    from attn_mlir.context import make_context
    from attn_mlir.ir_utils import walk_ops
    from attn_mlir.pipeline import Pipeline, make_pass, run_pipeline
    from attn_mlir.source import parse_module

    stages = make_pass("attn-to-llvm", {"threads": 1, "max-score-bytes": 0}).expand()
    last = next(i for i, p in enumerate(stages) if str(p).startswith("buffer-results-to-out-params"))
    with make_context():
        module = parse_module(sdpa_module([2, 128, 64], [2, 256, 64], [2, 256, 64], scale=0.125,
                                          causal=False), "sdpa.mlir")
        run_pipeline(module, Pipeline(stages[:last + 1] + ["cse", "canonicalize"]))
        key_loops = [loop for forall in walk_ops(module.operation, "scf.forall")
                     for loop in walk_ops(forall, "scf.for")
                     if "step %c64" in str(loop).split("\n")[0] and "to %c256" in str(loop).split("\n")[0]]
        assert key_loops, "no key loop found"
        for loop in key_loops:
            assert not walk_ops(loop, "memref.copy"), str(loop)[:3000]
