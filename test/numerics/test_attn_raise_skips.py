"""attn-raise keeps its skip remarks: a head it does not raise is recorded with its
location and the reason, the legality condition that failed."""

from pathlib import Path

import attn_mlir as am
from attn_mlir import rewrite_log

CASES = Path(__file__).resolve().parents[2] / "test" / "Passes" / "attn-raise.mlir"


def _skips(function_name):
    chunk = next(c for c in CASES.read_text().split("// -----")
                 if f"func.func @{function_name}(" in c)
    rewrite_log.current_log.clear()
    with am.make_context():
        module = am.parse(chunk)
        am.run_pipeline(module, "builtin.module(attn-raise)")
    return [(e.function, e.message) for e in rewrite_log.current_log.events
            if not e.fired and e.pass_name == "attn-raise" and e.function == function_name]


def test_scale_after_float_mask_is_skipped():
    assert _skips("scale_after_float_mask_not_applicable") == [
        ("scale_after_float_mask_not_applicable",
         "the softmax input is not (scaled, masked) Q K^T")]


def test_shifted_diagonal_is_skipped_with_the_mask_reason():
    assert _skips("shifted_diagonal_not_applicable") == [
        ("shifted_diagonal_not_applicable",
         "the index-built mask is neither causal nor a sliding window")]
