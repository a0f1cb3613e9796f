"""attn.sdpa with sliding windows, boolean and additive masks varying per batch and
head, grouped-/multi-query heads and ranks 2 to 5, against a float64 numpy reference,
through the fused kernel (cpu schedule and plain loops) and the naive chain."""

import numpy as np
import pytest

import attn_mlir as am
from sdpa_reference import sdpa_module, sdpa_reference

# name: (q, k, v, mask shape, mask kind, causal, window, (tile-q, tile-kv) or None)
CASES = {
    "window_2d": ([9, 8], [13, 8], [13, 5], None, None, False, 4, (4, 4)),
    "causal_window_square": ([2, 17, 8], [2, 17, 8], [2, 17, 8], None, None, True, 5, (4, 4)),
    "causal_window_prefix": ([3, 6, 16], [3, 20, 16], [3, 20, 16], None, None, True, 7, (4, 8)),
    # Sq > Skv: the first rows see no key (0, not NaN).
    "causal_window_empty_rows": ([9, 8], [5, 8], [5, 8], None, None, True, 2, (4, 2)),
    "window_wider_than_keys": ([2, 7, 8], [2, 7, 8], [2, 7, 8], None, None, True, 100, (3, 2)),
    "window_one_is_the_diagonal": ([6, 8], [6, 8], [6, 8], None, None, True, 1, (4, 4)),
    "window_default_tiles": ([1, 2, 70, 16], [1, 2, 150, 16], [1, 2, 150, 8], None, None, True,
                             33, None),
    "bool_per_batch_head_gqa": ([2, 4, 7, 8], [2, 2, 11, 8], [2, 2, 11, 6], [2, 4, 7, 11],
                                "bool", True, None, (4, 4)),
    "bool_padding_window_gqa": ([2, 4, 7, 8], [2, 2, 11, 8], [2, 2, 11, 6], [2, 1, 1, 11],
                                "bool", True, 3, (4, 4)),
    "bool_rows_all_false": ([7, 8], [11, 8], [11, 8], [7, 11], "bool_empty_rows", False, None,
                            (4, 4)),
    "bias_per_batch_head": ([2, 3, 5, 8], [2, 3, 9, 8], [2, 3, 9, 8], [2, 3, 5, 9], "float",
                            False, None, (2, 4)),
    "relative_position_bias": ([2, 3, 5, 8], [2, 3, 9, 8], [2, 3, 9, 8], [3, 5, 9], "float",
                               True, None, (2, 4)),
    "bias_per_batch_gqa": ([2, 4, 5, 8], [2, 1, 9, 8], [2, 1, 9, 8], [2, 1, 5, 9], "float",
                           False, 4, (2, 4)),
    "bias_rows_all_ninf": ([2, 6, 8], [2, 10, 8], [2, 10, 8], [2, 6, 10], "float_empty_rows",
                           False, None, (4, 4)),
    "decode_mqa_window": ([1, 8, 1, 16], [1, 1, 37, 16], [1, 1, 37, 16], None, None, True, 10,
                          (1, 8)),
    "decode_padding_mask": ([3, 4, 1, 16], [3, 2, 40, 16], [3, 2, 40, 16], [3, 1, 1, 40], "bool",
                            False, None, None),
    # Decode (Sq = 1): split-key kernel, query heads of a group as the rows of a tile.
    "decode_gqa_long_tail": ([2, 8, 1, 16], [2, 2, 203, 16], [2, 2, 203, 8], None, None, False,
                             None, (1, 16)),
    "decode_gqa_window_late_start": ([1, 6, 1, 8], [1, 3, 150, 8], [1, 3, 150, 8], [1, 1, 1, 150],
                                     "float", True, 37, (1, 16)),
    "decode_mha_bool": ([2, 3, 1, 8], [2, 3, 70, 8], [2, 3, 70, 8], [2, 3, 1, 70], "bool", False,
                        None, (1, 8)),
    "decode_rank2": ([1, 16], [45, 16], [45, 8], None, None, True, None, (1, 8)),
    "decode_keys_all_masked": ([2, 4, 1, 8], [2, 2, 40, 8], [2, 2, 40, 8], [2, 1, 1, 40],
                               "bool_decode_empty", False, None, (1, 8)),
    # A mask that differs between the query heads of a group: the general kernel.
    "decode_gqa_per_head_mask": ([1, 4, 1, 8], [1, 2, 30, 8], [1, 2, 30, 8], [1, 4, 1, 30],
                                 "float", False, None, (1, 8)),
    "rank5_mixed_bias": ([2, 2, 3, 5, 8], [2, 2, 1, 7, 8], [2, 2, 1, 7, 8], [2, 1, 3, 1, 7],
                         "float", True, 3, (2, 4)),
}

PIPELINES = {
    "fused_cpu": "attn-to-llvm{max-score-bytes=0}",
    "fused_loops": "attn-to-llvm{max-score-bytes=0 schedule=loops}",
    "naive_cpu": "attn-to-llvm{max-score-bytes=0}",
}


def _mask(rng, shape, kind):
    if kind is None:
        return None
    if kind.startswith("bool"):
        m = rng.random(shape) > 0.3
        if kind == "bool_empty_rows":
            m[1] = False
            m[4] = False
        if kind == "bool_decode_empty":
            m[1] = False
        return m
    m = rng.standard_normal(shape).astype(np.float32)
    m[rng.random(shape) < 0.2] = -np.inf
    if kind == "float_empty_rows":
        m[..., 2, :] = -np.inf
    return m


def _run(name, pipeline_name):
    q, k, v, mshape, kind, causal, window, tiles = CASES[name]
    boolean = kind is not None and kind.startswith("bool")
    text = sdpa_module(q, k, v, mshape, scale=0.3, causal=causal, window=window,
                       boolean=boolean)
    if pipeline_name == "naive_cpu":
        lower = "attn-lower{naive}, "
    elif tiles:
        lower = f"attn-lower{{tile-q={tiles[0]} tile-kv={tiles[1]}}}, "
    else:
        lower = ""
    fn = am.compile(text, pipeline=f"builtin.module({lower}{PIPELINES[pipeline_name]})")
    rng = np.random.default_rng(len(name))
    inputs = [rng.standard_normal(s).astype(np.float32) for s in (q, k, v)]
    mask = _mask(rng, mshape, kind)
    args = inputs + ([] if mask is None else [mask.astype(np.int8) if boolean else mask])
    got = fn(*args)
    want = sdpa_reference(*inputs, 0.3, mask, causal, window)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pipeline_name", sorted(PIPELINES))
@pytest.mark.parametrize("name", sorted(CASES))
def test_sdpa_matches_numpy(name, pipeline_name):
    _run(name, pipeline_name)


def test_reference_window_is_hugging_face_sliding_window():
    """The reference's window is transformers' `sliding_window_overlay` and
    `causal_mask_function` combined: kv_idx > q_idx - W and kv_idx <= q_idx."""
    w, n = 3, 6
    q_idx, kv_idx = np.arange(n)[:, None], np.arange(n)[None, :]
    hf = (kv_idx > q_idx - w) & (kv_idx <= q_idx)
    eye = np.eye(n)
    got = sdpa_reference(eye, eye, eye, 0.0, causal=True, window=w)
    # With equal scores each row averages the one-hot values of the keys it sees.
    np.testing.assert_allclose(got, hf / hf.sum(axis=1, keepdims=True))
