"""attn-optimize on every torch-mlir fixture: same results, no more work.

Original and optimized modules are JIT-compiled the same way (attn-to-llvm)
and run on the fixture's inputs: they agree (rtol 1e-4, atol 1e-5) and the
optimized one matches the stored PyTorch output.
"""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import rewrite_log
from attn_mlir.ir_utils import walk_ops
from attn_mlir.projections import elementwise_body
from attn_mlir.rewrite_cost import constant_bytes, function_flops

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.mlir"))


def _optimized(name: str, pipeline: str = "builtin.module(attn-optimize)"):
    """(original text with weights inlined, optimized text, stats before, stats after)."""
    with am.make_context():
        module = am.load(str(FIXTURES / f"{name}.mlir"))
        am.run_pipeline(module, "builtin.module(attn-inline-dense-resources)")
        before = _stats(module.operation)
        original = str(module)
        rewrite_log.current_log.clear()
        am.run_pipeline(module, pipeline)
        after = _stats(module.operation)
        return original, str(module), before, after


def _stats(op):
    return {"matmuls": len(walk_ops(op, "linalg.matmul")) + len(walk_ops(op, "linalg.batch_matmul")),
            "flops": function_flops(op), "bytes": constant_bytes(op)}


def _negations(op):
    return [g for g in walk_ops(op, "linalg.generic")
            if (b := elementwise_body(g)) is not None and b[0] == "arith.negf"]


def _rotate_half_leftovers(op):
    """Negation generics, and slices or concatenations that feed or are fed by them."""
    negations = _negations(op)
    leftovers = list(negations)
    for s in walk_ops(op, "tensor.extract_slice"):
        if any(u.owner in negations or u.owner.name == "tensor.concat" for u in s.results[0].uses):
            leftovers.append(s)
    for c in walk_ops(op, "tensor.concat"):
        if any(v.owner in negations or getattr(v.owner, "name", "") == "tensor.extract_slice"
               for v in c.operands):
            leftovers.append(c)
    return leftovers


@pytest.mark.parametrize("name", NAMES)
def test_optimized_fixture_matches_original_and_pytorch(name):
    original, optimized, before, after = _optimized(name)
    data = np.load(FIXTURES / f"{name}.npz")
    f0, f1 = am.compile(original), am.compile(optimized)
    args = [data[f"arg{i}"] for i in range(len(f0.arg_specs))]
    want, got = f0(*args), f1(*args)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, data["result0"], rtol=1e-4, atol=1e-5)
    assert after["matmuls"] <= before["matmuls"]
    assert after["flops"] <= before["flops"]
    assert after["bytes"] <= before["bytes"]


def test_causal_sdpa_split_scale_folds():
    """q*s^.5 and k*s^.5 fold into the weights: fewer FLOPs, no more constant bytes."""
    _, optimized, before, after = _optimized("causal_sdpa")
    assert after["flops"] < before["flops"] and after["bytes"] <= before["bytes"]


def test_llama_mha_rotate_half_is_gone():
    _, optimized, before, after = _optimized("llama_mha")
    assert after["matmuls"] <= before["matmuls"]
    assert after["flops"] <= before["flops"]
    assert after["bytes"] <= before["bytes"]
    with am.make_context():
        module = am.parse_module(optimized)
        op = module.operation
        assert not _rotate_half_leftovers(op)
        assert not walk_ops(op, "tensor.concat")


def test_decode_fixed_position_rotary_folded_into_projection():
    _, optimized, before, after = _optimized("decode_fixed_position")
    assert after["matmuls"] <= before["matmuls"]
    assert after["flops"] < before["flops"]
    assert after["bytes"] < before["bytes"]  # the cos/sin tables are gone
    with am.make_context():
        module = am.parse_module(optimized)
        op = module.operation
        assert not _rotate_half_leftovers(op)
        # Nothing fused either: no generic computes a sign flip.
        assert all("arith.negf" not in str(g) for g in walk_ops(op, "linalg.generic"))
        # Only the KV-cache appends remain as concatenations.
        assert [ir_dim(c) for c in walk_ops(op, "tensor.concat")] == [2, 2]
        # q and k come straight out of their projections: matmul, reshape, no arithmetic.
        for concat in walk_ops(op, "tensor.concat"):
            assert _producer_chain(concat.operands[1])[-1] == "linalg.matmul"
        fired = [e for e in rewrite_log.current_log.events if e.fired]
        assert sum("folded into the projection weights" in e.message for e in fired) == 2


def test_rope_cos_sin_inputs_still_applied_at_run_time():
    _, optimized, _, _ = _optimized("rope_cos_sin_inputs")
    with am.make_context():
        module = am.parse_module(optimized)
        func = walk_ops(module.operation, "func.func")[0]
        args = func.regions[0].blocks[0].arguments
        for cos_or_sin in (args[1], args[2]):
            readers = [use.owner for use in cos_or_sin.uses]
            readers = [r for owner in readers for r in ([owner] if owner.name == "linalg.generic"
                                                         else [u.owner for u in owner.results[0].uses])]
            assert readers and all(r.name == "linalg.generic" for r in readers)
            assert all("arith.mulf" in str(r) for r in readers)


def test_weight_budget_is_respected_by_the_pipeline():
    """A budget below the current size: only rewrites that add no constant bytes fire."""
    _, _, before, after = _optimized("decode_fixed_position",
                                     "builtin.module(attn-optimize{max-weight-growth=0.5})")
    assert after["bytes"] <= before["bytes"]


def ir_dim(concat):
    from mlir import ir
    return ir.IntegerAttr(concat.attributes["dim"]).value


def _producer_chain(value):
    names = []
    while True:
        owner = value.owner
        if not hasattr(owner, "name") or owner.name in ("func.func",):
            return names
        names.append(owner.name)
        if owner.name == "linalg.matmul":
            return names
        value = owner.operands[0]
