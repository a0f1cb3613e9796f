"""`attn-readonly-arguments`: public functions never write into their tensor arguments.

Tensors are values: a caller's inputs must come back unchanged. One-shot
bufferization across function boundaries treats function arguments as
writable unless they carry `bufferization.writable = false`, so an op whose
`outs` is an argument would write into the caller's buffer (a numpy array,
for the JIT). This pass marks every tensor argument of every public function
read-only; bufferization then copies where a write is needed.
"""

from __future__ import annotations

from mlir import ir

from ..ir_utils import functions, is_declaration, is_public
from ..passes import register_pass

WRITABLE = "bufferization.writable"


@register_pass("attn-readonly-arguments",
               summary="Mark tensor arguments of public functions bufferization.writable = false.")
def readonly_arguments(op):
    for func_op in functions(op):
        if not is_public(func_op) or is_declaration(func_op):
            continue
        ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
        old = (list(ir.ArrayAttr(func_op.attributes["arg_attrs"]))
               if "arg_attrs" in func_op.attributes else [None] * len(ftype.inputs))
        new = []
        for arg_type, attrs in zip(ftype.inputs, old):
            entries = {}
            if attrs is not None:
                d = ir.DictAttr(attrs)
                entries = {d[i].name: d[i].attr for i in range(len(d))}
            if isinstance(arg_type, ir.RankedTensorType) or "tensor<" in str(arg_type):
                entries[WRITABLE] = ir.BoolAttr.get(False)
            new.append(ir.DictAttr.get(entries))
        func_op.attributes["arg_attrs"] = ir.ArrayAttr.get(new)
