"""Typed views of the `attn` dialect's ops (defined in IRDL, so the bindings have no classes).

`Sdpa(op)` and `Rotary(op)` read operands and attributes by name;
`create_sdpa(...)` / `create_rotary(...)` build the ops at the current
insertion point. Shapes are checked by `attn-verify` (passes/attn_verify.py).
"""

from __future__ import annotations

from mlir import ir

SDPA = "attn.sdpa"
ROTARY = "attn.rotary"
STYLES = ("half", "interleaved")


def _op(op):
    return op.operation if hasattr(op, "operation") else op


class Sdpa:
    """attn.sdpa(query, key, value[, mask]) {scale: f32, causal: bool[, window: i64]}.

    `mask` is a float additive bias (the query's element type) or an i1 keep-mask
    (true = attend); `window` (absent: no window) keeps key j for query i iff
    i + Skv - Sq - window < j."""

    def __init__(self, op):
        self.op = _op(op)

    query = property(lambda self: self.op.operands[0])
    key = property(lambda self: self.op.operands[1])
    value = property(lambda self: self.op.operands[2])
    mask = property(lambda self: self.op.operands[3] if len(self.op.operands) > 3 else None)
    result = property(lambda self: self.op.results[0])

    @property
    def scale(self) -> float:
        return ir.FloatAttr(self.op.attributes["scale"]).value

    @property
    def causal(self) -> bool:
        return ir.BoolAttr(self.op.attributes["causal"]).value

    @property
    def window(self) -> int | None:
        """The sliding window W (> 0 once verified), or None without the attribute."""
        if "window" not in self.op.attributes:
            return None
        return ir.IntegerAttr(self.op.attributes["window"]).value

    @property
    def boolean_mask(self) -> bool:
        """True when the mask is an i1 keep-mask (true = attend)."""
        if self.mask is None:
            return False
        elem = ir.ShapedType(self.mask.type).element_type
        return isinstance(elem, ir.IntegerType) and elem.width == 1


class Rotary:
    """attn.rotary(input, cos, sin) {style: "half" | "interleaved", rotary_dim: i64}."""

    def __init__(self, op):
        self.op = _op(op)

    input = property(lambda self: self.op.operands[0])
    cos = property(lambda self: self.op.operands[1])
    sin = property(lambda self: self.op.operands[2])
    result = property(lambda self: self.op.results[0])

    @property
    def style(self) -> str:
        return ir.StringAttr(self.op.attributes["style"]).value

    @property
    def rotary_dim(self) -> int:
        return ir.IntegerAttr(self.op.attributes["rotary_dim"]).value


def create_sdpa(query, key, value, mask=None, *, scale: float, causal: bool,
                result_type: ir.Type, window: int | None = None, loc=None) -> ir.Operation:
    """Build attn.sdpa; `window=None` leaves the optional `window` attribute out."""
    operands = [query, key, value] + ([mask] if mask is not None else [])
    attributes = {"scale": ir.FloatAttr.get_f32(scale), "causal": ir.BoolAttr.get(bool(causal))}
    if window is not None:
        attributes["window"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(window))
    return ir.Operation.create(SDPA, results=[result_type], operands=operands, loc=loc,
                               attributes=attributes)


def create_rotary(x, cos, sin, *, style: str, rotary_dim: int, loc=None) -> ir.Operation:
    return ir.Operation.create(ROTARY, results=[x.type], operands=[x, cos, sin], loc=loc,
                               attributes={"style": ir.StringAttr.get(style),
                                           "rotary_dim": ir.IntegerAttr.get(
                                               ir.IntegerType.get_signless(64), rotary_dim)})
