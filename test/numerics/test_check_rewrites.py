"""`--attn-check-rewrites` / `attn_mlir.optimize(check=True)`: a rewrite that changes
results is refused with an error naming it; correct rewrites pass and are checked."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from mlir import ir
from attn_mlir import check_rewrites
from attn_mlir.ir_utils import walk_ops

HERE = Path(__file__).resolve().parent
# (x @ Wq + c) * s with c = -3 (Q accumulates into a non-zero fill) is not x @ (Wq * s) + c.
NONZERO_INIT = HERE / "fold_score_scale_nonzero_init.mlir"

ADD = """
func.func @add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


def _replace_adds(op, name: str, swap: bool) -> None:
    """Replace every `arith.addf x, y` under `op` by `name x, y` (or `name y, x`)."""
    for add in walk_ops(op, "arith.addf"):
        operands = list(add.operands)[::-1] if swap else list(add.operands)
        with ir.InsertionPoint(add), add.location:
            new = ir.Operation.create(name, results=[add.result.type], operands=operands)
        add.result.replace_all_uses_with(new.result)
        add.erase()


class AddBecomesSub(am.Pass):
    """A deliberately wrong rewrite (test only): x + y -> x - y."""

    name = "test-add-becomes-sub"
    is_rewrite = True

    def run(self, op):
        _replace_adds(op, "arith.subf", swap=False)


class AddCommutes(am.Pass):
    """A correct rewrite (test only): x + y -> y + x."""

    name = "test-add-commutes"
    is_rewrite = True

    def run(self, op):
        _replace_adds(op, "arith.addf", swap=True)


def test_wrong_rewrite_is_refused():
    with am.make_context():
        module = am.parse(ADD, "add.mlir")
        with check_rewrites.checking() as checker, \
                pytest.raises(am.AttnError, match=r"add.mlir:2:1: error: rewrite "
                                                  r"'test-add-becomes-sub' changed the results "
                                                  r"of @add .*the rewrite is refused"):
            am.run_pipeline(module, [AddBecomesSub()])
        assert checker.checked == 1


def test_correct_rewrite_is_checked_and_kept():
    with am.make_context():
        module = am.parse(ADD, "add.mlir")
        with check_rewrites.checking() as checker:
            am.run_pipeline(module, [AddCommutes()])
        assert checker.checked == 1 and not checker.skipped


def test_unchecked_wrong_rewrite_goes_through():
    # Without checking (and without the test suite's environment setting) nothing stops it:
    # what the check above refuses is the rewrite, not the input.
    with am.make_context():
        module = am.parse(ADD)
        with check_rewrites.checking(check_rewrites.Checker(budget_s=0)):
            am.run_pipeline(module, [AddBecomesSub()])
        assert "arith.subf" in str(module)


def _reference(x, k):
    """float64 numpy: ((x @ Wq - 3) @ k^T) * 0.5."""
    wq = np.array([[1.0, 2.0, 0.5, -1.0], [3.0, 4.0, 1.5, 0.25], [-2.0, 1.0, 0.0, 2.0],
                   [0.5, -0.5, 1.0, 1.0]])
    q = x.astype(np.float64) @ wq - 3.0
    return (q @ k.astype(np.float64).T) * 0.5


def test_fold_score_scale_with_nonzero_accumulator_is_refused_or_correct():
    """attn-fold-score-scale must not fold the scale past a non-zero accumulator. Until the
    pass checks that, the check refuses it; once it does, results must equal the reference.
    Never silently wrong."""
    text = NONZERO_INIT.read_text()
    rng = np.random.default_rng(0)
    x, k = (rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2))
    with am.make_context():
        module = am.parse(text, str(NONZERO_INIT))
        try:
            am.optimize(module, check=True)
        except am.AttnError as e:
            assert "rewrite 'attn-fold-score-scale' changed the results of " \
                   "@scores_nonzero_init" in str(e)
            return
        got = am.compile(module)(x, k)
    np.testing.assert_allclose(got, _reference(x, k), rtol=1e-4, atol=1e-4)


def test_cli_flag_refuses_the_miscompile_or_is_correct(tmp_path):
    out = tmp_path / "out.mlir"
    done = subprocess.run([sys.executable, "-m", "attn_mlir.tools.attn_opt", str(NONZERO_INIT),
                           "--attn-optimize", "--attn-check-rewrites", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        assert done.returncode == 1
        assert f"{NONZERO_INIT}:1:1: error: rewrite 'attn-fold-score-scale' changed the " \
               "results of @scores_nonzero_init" in done.stderr
        assert not out.exists()
        return
    rng = np.random.default_rng(1)
    x, k = (rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2))
    got = am.compile(out.read_text())(x, k)
    np.testing.assert_allclose(got, _reference(x, k), rtol=1e-4, atol=1e-4)


def test_fixture_rewrites_pass_the_check():
    """Real-model fixtures: every rewrite of attn-optimize is checked and none is refused."""
    fixture = HERE.parent / "fixtures" / "llama_single_head.mlir"
    with am.make_context():
        module = am.load(str(fixture))
        with check_rewrites.checking() as checker:
            am.optimize(module)
    assert checker.checked >= 1


MUL_NONZERO_INIT = HERE / "fold_scale_nonzero_init_no_attention.mlir"


def test_scale_of_a_nonzero_accumulator_outside_attention_is_refused_or_correct():
    """(x @ W - 3) * 2 with no attention around it: attn-optimize must keep the -3 outside
    the scale (refused by the check until the rewrites check the accumulator)."""
    w = np.array([[1.0, 2.0, 0.5, -1.0], [3.0, 4.0, 1.5, 0.25], [-2.0, 1.0, 0.0, 2.0],
                  [0.5, -0.5, 1.0, 1.0]])
    x = np.random.default_rng(2).standard_normal((4, 4)).astype(np.float32)
    with am.make_context():
        module = am.parse(MUL_NONZERO_INIT.read_text(), str(MUL_NONZERO_INIT))
        try:
            am.optimize(module, check=True)
        except am.AttnError as e:
            assert "changed the results of @mul_nonzero_init" in str(e)
            return
        got = am.compile(module)(x)
    np.testing.assert_allclose(got, (x.astype(np.float64) @ w - 3.0) * 2.0, rtol=1e-4, atol=1e-4)
