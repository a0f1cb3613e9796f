"""Running transform-dialect scripts on payload IR from Python."""

from __future__ import annotations

from mlir import ir
from mlir.dialects.transform import interpreter

_HEADER = "module attributes {transform.with_named_sequence} {\n"

ANY = "!transform.any_op"


def ints(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def tile_using_for(handle: str, sizes, out: str) -> list[str]:
    """`tile_using_for` lines naming the tiled op `out` (loops for nonzero sizes only)."""
    loops = sum(1 for s in sizes if s)
    if not loops:
        return [f"    {out} = transform.merge_handles {handle} : {ANY}"]
    names = ", ".join([out] + [f"{out}_{i}" for i in range(loops)])
    return [f"    {names} = transform.structured.tile_using_for {handle} tile_sizes {ints(sizes)}"
            f" : ({ANY}) -> ({', '.join([ANY] * (loops + 1))})"]


def tile_and_vectorize(handle: str, sizes, vector, out: str) -> list[str]:
    """Tile `handle` by `sizes` (0: untiled dim), then vectorise the tile as `vector`."""
    return tile_using_for(handle, sizes, out) + [
        f"    transform.structured.vectorize {out} vector_sizes {ints(vector)} : {ANY}"]


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
