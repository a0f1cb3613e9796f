"""`attn-approximate-erf-tanh`: f32 `math.erf` and `math.tanh` (GELU's two forms) as vector code.

LLVM has no `erf` intrinsic (the JIT cannot compile `math.erf` at all) and
lowers a vector `llvm.tanh` to one libm call per lane. Both become
arithmetic that stays in vector registers:

    erf(x)  ~= x P(x^2) / Q(x^2),  x clamped to [-4, 4]      (|err| < 5e-7)

a rational approximation (P of degree 6, Q of degree 4 in x^2; Eigen's and
XLA's coefficients): beyond |x| = 4, erf is +-1 to f32 precision.

    tanh(x) = sign(x) (1 - e) / (1 + e),  e = exp(-2|x|)      for |x| >= 1/16
    tanh(x) ~= x - x^3/3 + 2x^5/15 - 17x^7/315                for |x| <  1/16

the second form keeps the relative error small where `1 - e` cancels (its
truncation error is below 3e-12 relative there). The `math.exp` it creates is
then rewritten by `attn-approximate-exp`. NaN inputs give NaN (the
comparisons are unordered-false and propagate NaN through the arithmetic).
Legality: f32 element type only (scalars or vectors); other types are left
alone.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, math

from ..ir_utils import walk_ops
from ..passes import register_pass
from .approximate_exp import _element, _is_f32, _splat, masked_root

ERF_CLAMP = 4.0
# Numerator (odd: x P(x^2)) and denominator (even: Q(x^2)), highest degree first.
ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
         -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
         -1.60960333262415e-02)
ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
         -7.37332916720468e-03, -1.42647390514189e-02)
TANH_SMALL = 0.0625
# Taylor coefficients of tanh(x)/x in x^2, highest degree first.
TANH_TAYLOR = (-17.0 / 315.0, 2.0 / 15.0, -1.0 / 3.0, 1.0)


def _horner(coeffs, x, c):
    p = c(coeffs[0])
    for coeff in coeffs[1:]:
        p = arith.addf(arith.mulf(p, x), c(coeff))
    return p


def _expand(op: ir.Operation, build) -> bool:
    """Replace one f32 unary math op by `build(x, c)` (c makes splat constants of x's
    type); False if its element type is not f32."""
    x = op.operands[0]
    t = x.type
    if not _is_f32(_element(t)):
        return False
    replaced = masked_root(op)
    with ir.InsertionPoint(replaced), op.location:
        result = build(x, lambda v: _splat(v, t, _element(t)))
    replaced.results[0].replace_all_uses_with(result)
    replaced.erase()
    return True


def _erf(x, c):
    xc = arith.minimumf(arith.maximumf(x, c(-ERF_CLAMP)), c(ERF_CLAMP))
    x2 = arith.mulf(xc, xc)
    return arith.divf(arith.mulf(xc, _horner(ERF_P, x2, c)), _horner(ERF_Q, x2, c))


def _tanh(x, c):
    ax = math.absf(x)
    e = math.exp(arith.mulf(ax, c(-2.0)))
    large = math.copysign(arith.divf(arith.subf(c(1.0), e), arith.addf(c(1.0), e)), x)
    small = arith.mulf(x, _horner(TANH_TAYLOR, arith.mulf(x, x), c))
    return arith.select(arith.cmpf(arith.CmpFPredicate.OLT, ax, c(TANH_SMALL)), small, large)


def expand_erf(op: ir.Operation) -> bool:
    """Replace one f32 `math.erf` by the rational approximation; False if not applicable."""
    return _expand(op, _erf)


def expand_tanh(op: ir.Operation) -> bool:
    """Replace one f32 `math.tanh` by exp-based and series forms; False if not applicable."""
    return _expand(op, _tanh)


def approximate_erf_tanh(root: ir.Operation) -> int:
    """Rewrite every f32 `math.erf` and `math.tanh` under `root`; returns how many."""
    count = sum(1 for op in walk_ops(root, "math.erf") if expand_erf(op))
    return count + sum(1 for op in walk_ops(root, "math.tanh") if expand_tanh(op))


@register_pass("attn-approximate-erf-tanh",
               summary="Rewrite f32 math.erf and math.tanh as vectorisable rational/exp forms.")
def approximate_erf_tanh_pass(op):
    """erf(x) = x P(x^2) / Q(x^2) on [-4, 4]; tanh(x) = sign(x)(1 - e)/(1 + e),
    e = exp(-2|x|), with a series below |x| = 1/16; f32 only."""
    approximate_erf_tanh(op)
