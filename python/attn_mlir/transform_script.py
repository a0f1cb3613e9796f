"""Running transform-dialect scripts on payload IR from Python."""

from __future__ import annotations

from mlir import ir
from mlir.dialects.transform import interpreter

_HEADER = "module attributes {transform.with_named_sequence} {\n"


def named_sequence(body: str) -> str:
    """Wrap transform ops (using `%root`) into a `@__transform_main` script."""
    return (_HEADER +
            "  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {\n"
            + body +
            "\n    transform.yield\n  }\n}\n")


def apply_transform(payload: ir.Operation, script: str) -> None:
    """Apply the `@__transform_main` sequence of `script` to `payload`."""
    with payload.context, ir.Location.unknown():
        module = ir.Module.parse(script)
        entry = None
        for op in module.body.operations:
            if op.name == "transform.named_sequence" and \
                    ir.StringAttr(op.attributes["sym_name"]).value == "__transform_main":
                entry = op
        interpreter.apply_named_sequence(payload, entry, module)
