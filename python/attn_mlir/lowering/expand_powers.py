"""`attn-expand-powers`: powers with a small constant integer exponent become multiplications.

torch-mlir spells `x.pow(2)` (RMSNorm's square) as `math.fpowi %x, %c2_i64`
and `x ** 2.0` as `math.powf %x, %c2`. Once vectorised, `math.fpowi` becomes
`llvm.intr.powi` with a vector of i64 exponents, which does not verify
(LLVM wants one scalar i32), and `math.powf` becomes one libm `powf` call per
lane. For a constant integer exponent n with |n| <= MAX_EXPONENT:

    x^n = x^(b_k 2^k) ... x^(b_0)       (binary powering: at most 2 log2(n) mulf)
    x^-n = 1 / x^n,   x^0 = 1

f32 multiplication is exact to half an ulp per product, so x^2 (one mulf) is
bit-identical to powf(x, 2); larger n differ by a few ulp. Legality: the
exponent is an `arith.constant` scalar (a float one must be integral) and the
base a float scalar; vectors, splat tensors and other exponents are left to
the math lowering.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from ..constants import constant_array
from ..ir_utils import walk_ops
from ..passes import register_pass

MAX_EXPONENT = 16


def _integer_exponent(value: ir.Value) -> int | None:
    array = constant_array(value)
    if array is None or array.ndim != 0:
        return None
    number = float(array)
    if not number.is_integer() or abs(number) > MAX_EXPONENT:
        return None
    return int(number)


def _power(x: ir.Value, n: int) -> ir.Value:
    """x^n for n >= 1 by binary powering."""
    result, square = None, x
    while n:
        if n & 1:
            result = square if result is None else arith.mulf(result, square)
        n >>= 1
        if n:
            square = arith.mulf(square, square)
    return result


def expand_power(op: ir.Operation) -> bool:
    """Replace one `math.fpowi`/`math.powf` with a small integer constant exponent."""
    base, exponent = op.operands[0], op.operands[1]
    if not isinstance(base.type, ir.FloatType):
        return False
    n = _integer_exponent(exponent)
    if n is None:
        return False
    with ir.InsertionPoint(op), op.location:
        one = arith.constant(base.type, 1.0)
        result = one if n == 0 else _power(base, abs(n))
        if n < 0:
            result = arith.divf(one, result)
    op.results[0].replace_all_uses_with(result)
    op.erase()
    return True


def expand_powers(root: ir.Operation) -> int:
    """Rewrite every applicable power under `root`; returns how many."""
    ops = walk_ops(root, "math.fpowi") + walk_ops(root, "math.powf")
    return sum(1 for op in ops if expand_power(op))


@register_pass("attn-expand-powers",
               summary="Rewrite math.fpowi/math.powf with a small constant integer exponent as mulf.")
def expand_powers_pass(op):
    """x^n = product of repeated squares (|n| <= 16), x^-n = 1/x^n; float scalars only."""
    expand_powers(op)
