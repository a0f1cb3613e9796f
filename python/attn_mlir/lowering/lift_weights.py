"""`attn-lift-weights`: weights held in files become arguments bound once, not copies.

A weight held in one of the module's weights files (weights.py) is loaded with
`ml_program.global_load_const` of an `#ml_program.extern` global. This pass
turns each such load in a public function into a trailing argument of the
function (one per weight, in order of first use), erases the external globals
that are no longer loaded and records the names in the module attribute

    attn.lifted_weights = {f = ["layers.0.q_proj.weight", ...]}

The JIT (jit.py) points those arguments at the memory-mapped file once, when
it builds the compiled function; callers never see them, and the weights'
bytes never pass through the IR or LLVM. `attn-to-llvm` runs this after the
schedule, so every pass before it (folding, packing) still reads the weights
as constants. A weight loaded in a private function is an error: only public
functions bind weights.

Run first (`attn-lift-weights,attn-to-llvm`), it leaves no weight for a pass
to fold or pack: the compiled function reads the files' arrays as they are,
and `CompiledFunction.with_weights` can bind it to other files holding the
same names (one compiled layer for every layer of a model).
"""

from __future__ import annotations

from mlir import ir

from ..constants import LOAD_WEIGHT, drop_unused_weights, weight_name
from ..diagnostics import AttnError, error_at
from ..ir_utils import functions, is_public, root_op, symbol_name, walk_ops
from ..passes import register_pass
from ..weights import LIFTED, is_external

ATTRIBUTE = LIFTED
ARG_ATTRIBUTE = "attn.weight"


def lifted_names(module_op: ir.Operation, func_name: str) -> list[str]:
    """The weights lifted from @func_name, in argument order (after its own arguments)."""
    if ATTRIBUTE not in module_op.attributes:
        return []
    table = ir.DictAttr(module_op.attributes[ATTRIBUTE])
    if func_name not in table:
        return []
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(table[func_name])]


@register_pass("attn-lift-weights",
               summary="Turn loads of weights held in weights files into function arguments the "
                       "JIT binds to the mapped file once.")
def lift_weights(op):
    root = root_op(op)
    drop_unused_weights(root)
    table = {}
    if ATTRIBUTE in root.attributes:
        old = ir.DictAttr(root.attributes[ATTRIBUTE])
        table = {old[i].name: old[i].attr for i in range(len(old))}
    for func_op in functions(op):
        loads = [(load, name) for load in walk_ops(func_op, LOAD_WEIGHT)
                 if (name := weight_name(load)) is not None]
        if not loads:
            continue
        if not is_public(func_op):
            raise AttnError([error_at(loads[0][0], f"weight '{loads[0][1]}' is loaded in private "
                                                   f"function @{symbol_name(func_op)}: only public "
                                                   "functions bind weights files")])
        # A second run (weights the lowering derived after an early lift) appends.
        earlier = list(ir.ArrayAttr(table[symbol_name(func_op)])) if symbol_name(func_op) in table else []
        table[symbol_name(func_op)] = ir.ArrayAttr.get(earlier + list(_lift(func_op, loads)))
    # Every external global is gone once its loads are: those lifted here, and those
    # whose loads a rewrite folded away (nothing below the LLVM dialect may remain).
    still_loaded = {ir.FlatSymbolRefAttr(load.attributes["global"]).value
                    for load in walk_ops(root, LOAD_WEIGHT)}
    for global_op in walk_ops(root, "ml_program.global"):
        name = ir.StringAttr(global_op.attributes["sym_name"]).value
        if name not in still_loaded and is_external(global_op):
            global_op.erase()
    if table:
        with root.context:
            root.attributes[ATTRIBUTE] = ir.DictAttr.get(table)


def _lift(func_op: ir.Operation, loads: list) -> ir.ArrayAttr:
    entry = func_op.regions[0].blocks[0]
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    inputs = list(ftype.inputs)
    arg_attrs = (list(ir.ArrayAttr(func_op.attributes["arg_attrs"]))
                 if "arg_attrs" in func_op.attributes else
                 [ir.DictAttr.get({}) for _ in inputs])
    arguments: dict[str, ir.Value] = {}
    for load, name in loads:
        result = load.results[0]
        if name not in arguments:
            arguments[name] = entry.add_argument(result.type, load.location)
            inputs.append(result.type)
            arg_attrs.append(ir.DictAttr.get({ARG_ATTRIBUTE: ir.StringAttr.get(name)}))
        result.replace_all_uses_with(arguments[name])
        load.erase()
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, ftype.results))
    func_op.attributes["arg_attrs"] = ir.ArrayAttr.get(arg_attrs)
    return ir.ArrayAttr.get([ir.StringAttr.get(n) for n in arguments])
