"""`attn-widen-i1`: store boolean tensors as `i8` so the LLVM lowering never sees an i1 store.

MLIR 22's memref-to-LLVM lowering aborts the process on a `memref.store` of
`i1`. Frontends build masks as `tensor<...xi1>` (a causal mask, a
fully-masked-row guard), which bufferize into exactly such stores. This pass
rewrites, on tensors and before bufferization, every `tensor<...xi1>` value
into `tensor<...xi8>` holding 0 or 1:

    tensor<S x i1>  ->  tensor<S x i8>,   b  ->  extui(b),   read(b8) -> trunci(b8)

so that every computation still happens on `i1` scalars inside loop bodies
(`trunci` after each load of a widened element, `extui` before each store),
and the identity `trunci(extui(b)) == b` keeps the program's meaning.

Rewritten ops:

* `linalg.generic`: block arguments of widened tensor operands become `i8`
  followed by `arith.trunci`; yielded `i1` values of widened results get
  `arith.extui`. Other linalg ops touching i1 tensors (`linalg.fill`,
  `linalg.transpose`, `linalg.broadcast`, ...) are generalized first.
* `arith.constant dense<...> : tensor<...xi1>`: the same values as `i8`.
* shape-only tensor ops (`tensor.empty`, `expand_shape`, `collapse_shape`,
  `extract_slice`, `insert_slice`, `concat`, `cast`, ...): the result type.
* `tensor.extract` (result `trunci`), `tensor.insert`, `tensor.from_elements`,
  `tensor.splat` (operands `extui`).

Legality: function arguments and results of i1 tensor type are an error (the
JIT boundary has no bool arrays), and so is any other op that produces or
consumes an i1 tensor: the pass reports it with its location and changes
nothing rather than leave IR that would abort later.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..constants import constant_array, dense_attr
from ..diagnostics import AttnError, Diagnostic, location_parts
from ..ir_utils import symbol_name, walk_ops
from ..passes import register_pass
from ..transform_script import apply_transform, named_sequence

# Ops whose only change is the element type of their tensor results.
RESULT_TYPE_ONLY = frozenset({
    "tensor.empty", "tensor.expand_shape", "tensor.collapse_shape", "tensor.extract_slice",
    "tensor.insert_slice", "tensor.concat", "tensor.cast", "tensor.reshape",
    "bufferization.alloc_tensor",
})
# Ops whose i1 scalar operands are widened with extui.
SCALAR_OPERANDS = frozenset({"tensor.insert", "tensor.from_elements", "tensor.splat"})
HANDLED = RESULT_TYPE_ONLY | SCALAR_OPERANDS | {
    "linalg.generic", "arith.constant", "tensor.extract", "tensor.dim"}
# Named linalg ops that are not structured computations and cannot be generalized.
_NOT_STRUCTURED = frozenset({"linalg.generic", "linalg.yield", "linalg.index"})
_TAG = "attn.widen_i1"


def _i1() -> ir.Type:
    return ir.IntegerType.get_signless(1)


def _i8() -> ir.Type:
    return ir.IntegerType.get_signless(8)


def _is_i1(t: ir.Type) -> bool:
    return t == _i1()


def is_i1_tensor(t: ir.Type) -> bool:
    return isinstance(t, ir.RankedTensorType) and _is_i1(t.element_type) or (
        isinstance(t, ir.UnrankedTensorType) and _is_i1(t.element_type))


def _widened(t: ir.Type) -> ir.Type:
    if isinstance(t, ir.RankedTensorType):
        return ir.RankedTensorType.get(t.shape, _i8(), t.encoding)
    return ir.UnrankedTensorType.get(_i8())


def _error(op: ir.Operation, message: str) -> AttnError:
    file, line, col = location_parts(op.location)
    return AttnError([Diagnostic("error", message, file, line, col)])


def _touches_i1_tensor(op: ir.Operation) -> bool:
    return any(is_i1_tensor(v.type) for v in list(op.operands) + list(op.results))


def _check_signatures(root: ir.Operation) -> None:
    for func in walk_ops(root, "func.func"):
        ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        for kind, types in (("argument", ftype.inputs), ("result", ftype.results)):
            for i, t in enumerate(types):
                if is_i1_tensor(t):
                    raise _error(func, f"{kind} {i} of @{symbol_name(func)} has type {t}: "
                                       "i1 tensors are not supported at function boundaries "
                                       "(pass them as i8)")


def _plan(root: ir.Operation) -> tuple[list[ir.Operation], bool]:
    """Named linalg ops to generalize, and whether there is anything to widen.

    Raises for an op the pass cannot rewrite, before anything is changed.
    """
    to_generalize, found = [], False
    for op in walk_ops(root):
        if not _touches_i1_tensor(op):
            continue
        found = True
        if op.name in HANDLED:
            continue
        if op.name.startswith("linalg.") and op.name not in _NOT_STRUCTURED and op.regions:
            to_generalize.append(op)
            continue
        raise _error(op, f"'{op.name}' on an i1 tensor cannot be widened to i8 "
                         "(1-bit stores do not lower to LLVM)")
    return to_generalize, found


def _generalize(root: ir.Operation, ops: list[ir.Operation]) -> None:
    for op in ops:
        op.attributes[_TAG] = ir.UnitAttr.get()
    apply_transform(root, named_sequence(
        f'    %s = transform.structured.match attributes{{"{_TAG}"}} in %root'
        " : (!transform.any_op) -> !transform.any_op\n"
        "    %g = transform.structured.generalize %s"
        " : (!transform.any_op) -> !transform.any_op"))
    for op in walk_ops(root):
        if _TAG in op.attributes:
            del op.attributes[_TAG]


def _truncate_uses(value: ir.Value, insertion: ir.InsertionPoint,
                   loc: ir.Location) -> ir.Operation | None:
    """`value` becomes i8; its users keep seeing an i1 through one `arith.trunci` (returned)."""
    value.set_type(_i8())
    if not list(value.uses):
        return None
    with insertion, loc:
        narrow = arith.TruncIOp(_i1(), value).result
    value.replace_all_uses_except(narrow, narrow.owner.operation)
    return narrow.owner.operation


def _extend(value: ir.Value, before: ir.Operation) -> ir.Value:
    with ir.InsertionPoint(before), before.location:
        return arith.ExtUIOp(_i8(), value).result


def _widen_results(op: ir.Operation) -> None:
    for r in op.results:
        if is_i1_tensor(r.type):
            r.set_type(_widened(r.type))


def _widen_generic(op: ir.Operation) -> None:
    block = op.regions[0].blocks[0]
    yield_op = list(block.operations)[-1].operation
    n_results = len(op.results)
    widened_results = [is_i1_tensor(r.type) for r in op.results]
    outs_start = len(op.operands) - n_results
    last = None  # keep the truncations in argument order at the top of the body
    for i, arg in enumerate(block.arguments):
        operand_type = op.operands[i].type
        shaped = isinstance(operand_type, (ir.RankedTensorType, ir.UnrankedTensorType))
        if shaped and _is_i1(arg.type) and (i < outs_start or widened_results[i - outs_start]):
            where = ir.InsertionPoint.at_block_begin(block) if last is None else \
                ir.InsertionPoint.after(last)
            last = _truncate_uses(arg, where, op.location) or last
    for j, widen in enumerate(widened_results):
        if widen and _is_i1(yield_op.operands[j].type):
            yield_op.operands[j] = _extend(yield_op.operands[j], yield_op)
    _widen_results(op)


def _widen_constant(op: ir.Operation) -> None:
    result = op.results[0]
    if not is_i1_tensor(result.type):
        return
    array = constant_array(result)
    if array is None:
        raise _error(op, "cannot read the i1 constant to widen it")
    new_type = _widened(result.type)
    op.attributes["value"] = dense_attr(array.astype(np.int8), new_type)
    result.set_type(new_type)


def _widen_op(op: ir.Operation) -> None:
    name = op.name
    if name == "linalg.generic":
        _widen_generic(op)
    elif name == "arith.constant":
        _widen_constant(op)
    elif name in RESULT_TYPE_ONLY:
        _widen_results(op)
    elif name in SCALAR_OPERANDS:
        for i, v in enumerate(list(op.operands)):
            if _is_i1(v.type):
                op.operands[i] = _extend(v, op)
        _widen_results(op)
    elif name == "tensor.extract":
        _truncate_uses(op.results[0], ir.InsertionPoint.after(op), op.location)


@register_pass("attn-widen-i1",
               summary="Store i1 tensors as i8 (MLIR 22 cannot lower 1-bit memref stores).")
def widen_i1(op):
    """See the module docstring for the rewrite and its legality."""
    with op.context:
        _check_signatures(op)
        to_generalize, found = _plan(op)
        if not found:
            return
        if to_generalize:
            _generalize(op, to_generalize)
        # Decide every op on the original types: widening a producer changes its users' operands.
        targets = [child for child in walk_ops(op) if _touches_i1_tensor(child)]
        for child in targets:
            _widen_op(child)
