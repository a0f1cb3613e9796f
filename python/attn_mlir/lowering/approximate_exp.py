"""`attn-approximate-exp`: f32 `math.exp` and `math.exp2` as a vectorisable polynomial.

LLVM has no vector `expf`: `llvm.exp` on a vector is split into one libm
call per lane, which makes a vectorised softmax slower than a scalar one.
This rewrites each f32 `math.exp` (scalar or vector) with Cephes' `expf`:

    exp(x) = 2^n * exp(r),  n = floor(x log2(e) + 1/2),  r = x - n ln(2)  (|r| <= ln(2)/2)
    exp(r) ~= 1 + r + r^2 P(r),  P a degree-5 polynomial (Horner steps as `math.fma`)

with `ln(2)` split in two constants so `r` is exact, and `2^n` built from its
bits `(n + 127) << 23`. Relative error is ~1 ulp over the normal range.
Inputs are clamped to [-87.34, 88.38] so `n` is a valid exponent; below that
range the result is 0 (where the exact value would be a denormal), above it
+inf, and NaN stays NaN. `math.exp2` is the same polynomial after a
different reduction (Cephes' `exp2f`):

    2^x = 2^n * exp(r),  n = floor(x + 1/2),  r = (x - n) ln(2)  (x - n exact)

with inputs clamped to [-126, 127] (0 below, +inf above). Legality: f32
element type only; other widths are left alone, and ops with fastmath flags
are handled the same way regardless of flags.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, math

from ..ir_utils import walk_ops
from ..passes import register_pass

LOG2E = 1.44269504088896341
LN2_HI = 0.693359375
LN2_LO = -2.12194440e-4
# Cephes expf polynomial coefficients, highest degree first.
POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
        1.6666665459e-1, 5.0000001201e-1)
LOWEST = -87.33654475  # exp(LOWEST) is the smallest normal f32
HIGHEST = 88.3762626647949
LN2 = 0.693147180559945309
LOWEST2, HIGHEST2 = -126.0, 127.0  # the normal exponents of f32


def _splat(value: float, like: ir.Type, element: ir.Type) -> ir.Value:
    """A constant `value` of type `like` (a scalar or a vector of `element`)."""
    scalar = (ir.FloatAttr.get(element, value) if _is_f32(element)
              else ir.IntegerAttr.get(element, int(value)))
    if _is_vector(like):
        attr = ir.DenseElementsAttr.get_splat(ir.VectorType(like), scalar)
        return arith.ConstantOp(like, attr).result
    return arith.ConstantOp(element, scalar).result


def _is_vector(t: ir.Type) -> bool:
    try:
        ir.VectorType(t)
        return True
    except ValueError:
        return False


def _is_f32(t: ir.Type) -> bool:
    return str(t) == "f32"


def _element(t: ir.Type) -> ir.Type:
    return ir.VectorType(t).element_type if _is_vector(t) else t


def _with_element(t: ir.Type, element: ir.Type) -> ir.Type:
    return ir.VectorType.get(ir.VectorType(t).shape, element) if _is_vector(t) else element


def masked_root(op: ir.Operation) -> ir.Operation:
    """The op an approximation replaces: a masked math op (masked vectorisation) is
    pure, so computing every lane is allowed and the whole `vector.mask` goes."""
    parent = op.parent
    return parent if parent is not None and parent.name == "vector.mask" else op


def expand_exp(op: ir.Operation) -> bool:
    """Replace one f32 `math.exp` or `math.exp2` by the polynomial; False if not applicable."""
    x = op.operands[0]
    t = x.type
    if not _is_f32(_element(t)):
        return False
    base2 = op.name == "math.exp2"
    low, high = (LOWEST2, HIGHEST2) if base2 else (LOWEST, HIGHEST)
    replaced = masked_root(op)
    with ir.InsertionPoint(replaced), op.location:
        f32 = _element(t)
        i32 = ir.IntegerType.get_signless(32)
        it = _with_element(t, i32)
        c = lambda v: _splat(v, t, f32)  # noqa: E731
        xc = arith.minimumf(arith.maximumf(x, c(low)), c(high))
        if base2:
            n = math.floor(arith.addf(xc, c(0.5)))
            r = arith.mulf(arith.subf(xc, n), c(LN2))
        else:
            n = math.floor(arith.addf(arith.mulf(xc, c(LOG2E)), c(0.5)))
            r = arith.subf(arith.subf(xc, arith.mulf(n, c(LN2_HI))), arith.mulf(n, c(LN2_LO)))
        p = c(POLY[0])
        # Horner steps as fused multiply-adds: one instruction and one rounding each.
        for coeff in POLY[1:]:
            p = math.fma(p, r, c(coeff))
        y = arith.addf(math.fma(p, arith.mulf(r, r), r), c(1.0))
        bits = arith.shli(arith.addi(arith.fptosi(it, n), _splat(127, it, i32)),
                          _splat(23, it, i32))
        result = arith.mulf(y, arith.bitcast(t, bits))
        result = arith.select(arith.cmpf(arith.CmpFPredicate.OLT, x, c(low)), c(0.0), result)
        result = arith.select(arith.cmpf(arith.CmpFPredicate.OGT, x, c(high)),
                              c(float("inf")), result)
        result = arith.select(arith.cmpf(arith.CmpFPredicate.UNO, x, x), x, result)
    replaced.results[0].replace_all_uses_with(result)
    replaced.erase()
    return True


def approximate_exp(root: ir.Operation) -> int:
    """Rewrite every f32 `math.exp` and `math.exp2` under `root`; returns how many."""
    ops = walk_ops(root, "math.exp") + walk_ops(root, "math.exp2")
    return sum(1 for op in ops if expand_exp(op))


@register_pass("attn-approximate-exp",
               summary="Rewrite f32 math.exp and math.exp2 as a vectorisable Cephes polynomial (~1 ulp).")
def approximate_exp_pass(op):
    """exp(x) = 2^n (1 + r + r^2 P(r)), n = round(x/ln 2), r = x - n ln 2;
    exp2(x) the same with n = round(x), r = (x - n) ln 2; f32 only."""
    approximate_exp(op)
