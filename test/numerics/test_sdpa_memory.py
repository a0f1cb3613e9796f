"""The fused attention kernel never holds the seq x seq scores; the naive chain does.

A small version of `python -m attn_mlir.bench.sdpa_memory` (seq 8192, d 64 there):
each variant runs in its own process and reports the peak RSS its call adds
and its workspace.
"""

from attn_mlir.bench.sdpa_memory import measure

SEQ, D = 2048, 64
SCORES_MIB = SEQ * SEQ * 4 / 2**20  # 16 MiB


def test_fused_kernel_stays_far_below_the_score_matrix():
    fused = measure("fused", SEQ, D, timeout=300)
    naive = measure("naive", SEQ, D, timeout=300)
    assert fused["max_abs_error"] < 1e-5 and naive["max_abs_error"] < 1e-5
    # A call's memory: what it touches beyond the resident set, plus its workspace.
    naive_mib = naive["call_peak_mib"] + naive["workspace_mib"]
    fused_mib = fused["call_peak_mib"] + fused["workspace_mib"]
    assert naive_mib >= 0.95 * SCORES_MIB
    assert fused_mib < SCORES_MIB / 4
