"""Numbered tags on the ops of a fusion group (lowering/row_fusion.py,
lowering/epilogue_fusion.py): transforms replace ops, so a group's script
finds its ops by attribute, never by a Python reference, and a group whose
script failed has its function restored as a copy, found again by its tags."""

from __future__ import annotations

from mlir import ir

from ..ir_utils import walk_ops


class GroupTags:
    def __init__(self, tag: str, refused: str):
        self.tag, self.refused = tag, refused   # attribute names

    def number(self, ops: list[ir.Operation]) -> None:
        """Tag `ops` 0, 1, ... in order."""
        i64 = ir.IntegerType.get_signless(64)
        for i, op in enumerate(ops):
            op.attributes[self.tag] = ir.IntegerAttr.get(i64, i)

    def refuse(self, function: ir.Operation, index: int) -> None:
        """Mark the op tagged `index` in the (restored) `function` so that it is not
        tried again."""
        for op in walk_ops(function):
            if self.tag in op.attributes and ir.IntegerAttr(op.attributes[self.tag]).value == index:
                op.attributes[self.refused] = ir.UnitAttr.get()

    def clear(self, root: ir.Operation, refused: bool = False) -> None:
        """Remove the tags (and the refusal marks when `refused`)."""
        for op in walk_ops(root):
            for name in (self.tag, self.refused) if refused else (self.tag,):
                if name in op.attributes:
                    del op.attributes[name]

    def match(self, index: int, name: str, where: str = "%root") -> str:
        """A transform line binding `name` to the op tagged `index` under `where`."""
        return (f"    {name} = transform.structured.match attributes{{{self.tag} = {index} : i64}}"
                f" in {where} : (!transform.any_op) -> !transform.any_op")
