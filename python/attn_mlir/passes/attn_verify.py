"""attn-verify: check the shapes of attn.* ops (IRDL checks only operand and attribute kinds).

attn.sdpa, with r = rank >= 2, B = batch dims, H = head dim (present when r >= 3):
  query [B.., Hq, Sq, D], key [B.., Hkv, Skv, D], value [B.., Hkv, Skv, Dv],
  result [B.., Hq, Sq, Dv]; Hq % Hkv == 0 (grouped-query attention); one float
  element type; mask (optional) of rank 1..r with the query's element type (additive
  bias) or i1 (keep-mask, true = attend), broadcastable (numpy rules) to the score
  shape [B.., Hq, Sq, Skv], so it may vary per batch and per head; scale finite;
  window (optional attribute; IRDL cannot declare an optional attribute, so it is
  checked here) a signless 64-bit integer > 0.
attn.rotary: input [.., S, D], result of the same type, 0 < rotary_dim <= D and
  even; cos and sin of the same type with last dim rotary_dim and the others
  broadcastable to the input's [.., S].
All shapes must be static.
"""

from __future__ import annotations

import math

from mlir import ir

from ..attn_ops import ROTARY, SDPA, Rotary, Sdpa
from ..diagnostics import AttnError, Diagnostic, location_parts
from ..ir_utils import walk_ops
from . import register_pass


_FLOATS = (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)


def _ranked(value, what: str, boolean_ok: bool = False):
    if not isinstance(value.type, ir.RankedTensorType):
        raise _Mismatch(f"{what} must be a ranked tensor, got {value.type}")
    t = ir.RankedTensorType(value.type)
    if not t.has_static_shape:
        raise _Mismatch(f"{what} must have a static shape, got {t}")
    if boolean_ok and _is_i1(t.element_type):
        return t
    if not isinstance(t.element_type, _FLOATS):
        kinds = "a float or i1" if boolean_ok else "a float"
        raise _Mismatch(f"{what} must have {kinds} element type, got {t}")
    return t


def _is_i1(t) -> bool:
    return isinstance(t, ir.IntegerType) and t.width == 1


class _Mismatch(Exception):
    pass


def _shape(t) -> str:
    return "x".join(map(str, t.shape))


def _broadcastable(small: list[int], big: list[int]) -> bool:
    if len(small) > len(big):
        return False
    return all(s in (1, b) for s, b in zip(reversed(small), reversed(big)))


def check_sdpa(op) -> None:
    """Raise _Mismatch with a message if the attn.sdpa `op` is ill-shaped."""
    s = Sdpa(op)
    q, k, v = (_ranked(x, n) for x, n in ((s.query, "query"), (s.key, "key"), (s.value, "value")))
    r = _ranked(s.result, "result")
    if not (q.rank == k.rank == v.rank) or q.rank < 2:
        raise _Mismatch(f"query, key and value must have one rank >= 2, got query {_shape(q)}, "
                        f"key {_shape(k)}, value {_shape(v)}")
    if not (q.element_type == k.element_type == v.element_type == r.element_type):
        raise _Mismatch("query, key, value and result must have one element type")
    n = q.rank
    if q.shape[-1] != k.shape[-1]:
        raise _Mismatch(f"query and key must have the same head size (last dim): "
                        f"query {_shape(q)}, key {_shape(k)}")
    if k.shape[-2] != v.shape[-2]:
        raise _Mismatch(f"key and value must have the same sequence length (dim {n - 2}): "
                        f"key {_shape(k)}, value {_shape(v)}")
    if list(k.shape[:-2]) != list(v.shape[:-2]):
        raise _Mismatch(f"key and value must have the same batch/head dims: "
                        f"key {_shape(k)}, value {_shape(v)}")
    if list(q.shape[:-3]) != list(k.shape[:-3]):
        raise _Mismatch(f"query and key must have the same batch dims: "
                        f"query {_shape(q)}, key {_shape(k)}")
    if n >= 3 and q.shape[-3] % k.shape[-3] != 0:
        raise _Mismatch(f"query heads ({q.shape[-3]}) must be a multiple of key/value heads "
                        f"({k.shape[-3]}) (grouped-query attention)")
    want = list(q.shape[:-1]) + [v.shape[-1]]
    if list(r.shape) != want:
        raise _Mismatch(f"result must be {'x'.join(map(str, want))} "
                        f"(query dims with value's head size), got {_shape(r)}")
    if s.mask is not None:
        m = _ranked(s.mask, "mask", boolean_ok=True)
        if m.element_type != q.element_type and not _is_i1(m.element_type):
            raise _Mismatch(f"mask must have the element type of query ({q.element_type}) or "
                            f"i1, got {m}")
        scores = list(q.shape[:-1]) + [k.shape[-2]]
        if m.rank == 0 or not _broadcastable(list(m.shape), scores):
            raise _Mismatch(f"mask {_shape(m)} does not broadcast to the score shape "
                            f"{'x'.join(map(str, scores))}")
    if not math.isfinite(s.scale):
        raise _Mismatch(f"scale must be finite, got {s.scale}")
    _check_window(op)


def _check_window(op) -> None:
    """The optional `window` attribute: an i64 W > 0 (absent: no sliding window)."""
    if "window" not in op.attributes:
        return
    attr = op.attributes["window"]
    if not isinstance(attr, ir.IntegerAttr) or str(attr.type) != "i64":
        raise _Mismatch(f"window must be an i64 integer attribute, got {attr}")
    if ir.IntegerAttr(attr).value <= 0:
        raise _Mismatch(f"window must be positive, got {ir.IntegerAttr(attr).value}")


def check_rotary(op) -> None:
    """Raise _Mismatch with a message if the attn.rotary `op` is ill-shaped."""
    rot = Rotary(op)
    x = _ranked(rot.input, "input")
    c, s = _ranked(rot.cos, "cos"), _ranked(rot.sin, "sin")
    r = _ranked(rot.result, "result")
    if r != x:
        raise _Mismatch(f"result type {r} must equal the input type {x}")
    if x.rank < 2:
        raise _Mismatch(f"input must have rank >= 2 ([.., S, D]), got {_shape(x)}")
    width = rot.rotary_dim
    if width <= 0 or width > x.shape[-1] or width % 2:
        raise _Mismatch(f"rotary_dim must be even and in (0, {x.shape[-1]}], got {width}")
    if c != s:
        raise _Mismatch(f"cos and sin must have the same type, got {c} and {s}")
    if c.element_type != x.element_type:
        raise _Mismatch(f"cos/sin must have the input's element type, got {c}")
    if c.rank < 1 or c.shape[-1] != width:
        raise _Mismatch(f"cos/sin last dim must be rotary_dim ({width}), got {_shape(c)}")
    if not _broadcastable(list(c.shape[:-1]), list(x.shape[:-1])):
        raise _Mismatch(f"cos/sin {_shape(c)} do not broadcast to the input {_shape(x)}")


CHECKS = {SDPA: check_sdpa, ROTARY: check_rotary}


def verify_op(op) -> None:
    """Raise AttnError at `op`'s location if it is an ill-shaped attn op."""
    op = op.operation if hasattr(op, "operation") else op
    check = CHECKS.get(op.name)
    if check is None:
        return
    try:
        check(op)
    except _Mismatch as e:
        file, line, col = location_parts(op.location)
        raise AttnError([Diagnostic("error", f"'{op.name}' op {e}", file, line, col)]) from None


@register_pass("attn-verify", summary="Check operand and result shapes of attn.* ops.")
def attn_verify(op):
    """Every attn.sdpa / attn.rotary must satisfy the shape rules in this module's docstring;
    the first violation is reported as an error at the op."""
    for name in CHECKS:
        for found in walk_ops(op, name):
            verify_op(found)
