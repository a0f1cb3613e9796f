"""Evaluate a tensor computed from constants alone (e.g. a causal mask built from an iota).

`evaluate(value)` interprets the ops that produce `value` with numpy: constants,
tensor.empty, linalg.fill, expand/collapse_shape, tensor.concat and all-parallel
linalg.generic ops whose bodies use arith/math scalar ops and linalg.index. Each
body op's result is rounded to its IR type (an f32 op computes in f32). It returns None as
soon as anything depends on a function argument or an op it does not know, so a
caller can use it to recognise a pattern by value rather than by IR shape.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from .constants import constant_array, is_a, numpy_dtype

MAX_ELEMENTS = 1 << 22

_CMPI = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater,
         5: np.greater_equal, 6: np.less, 7: np.less_equal, 8: np.greater, 9: np.greater_equal}
_UNSIGNED = (6, 7, 8, 9)  # ult, ule, ugt, uge
_CMPF = {1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less, 5: np.less_equal,
         6: np.not_equal, 8: np.equal, 9: np.greater, 10: np.greater_equal, 11: np.less,
         12: np.less_equal, 13: np.not_equal}
_BINARY = {
    "arith.addi": np.add, "arith.subi": np.subtract, "arith.muli": np.multiply,
    "arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply,
    "arith.divf": np.divide, "arith.maximumf": np.maximum, "arith.minimumf": np.minimum,
    "arith.maxnumf": np.fmax, "arith.minnumf": np.fmin, "arith.andi": np.logical_and,
    "arith.ori": np.logical_or, "arith.xori": np.logical_xor,
    "arith.maxsi": np.maximum, "arith.minsi": np.minimum,
}
_UNARY = {"math.exp": np.exp, "math.cos": np.cos, "math.sin": np.sin}
_CASTS = ("arith.index_cast", "arith.extf", "arith.truncf", "arith.sitofp", "arith.extsi",
          "arith.trunci", "arith.extui", "arith.uitofp")


class _Unknown(Exception):
    pass


def _owner(value):
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation if hasattr(owner, "operation") else owner


def evaluate(value: ir.Value) -> np.ndarray | None:
    """The numpy value of `value` if it depends on constants only, else None."""
    try:
        with np.errstate(all="ignore"):
            return _eval(value, {})
    except _Unknown:  # anything else is a bug and surfaces as one
        return None


def _eval(value, memo) -> np.ndarray:
    if value in memo:
        return memo[value]
    op = _owner(value)
    if op is None:
        raise _Unknown("argument")
    memo[value] = _eval_op(op, value, memo)
    return memo[value]


def _shape(value):
    if not is_a(value.type, ir.RankedTensorType):
        raise _Unknown("not a ranked tensor")
    t = ir.RankedTensorType(value.type)
    if not t.has_static_shape or int(np.prod(t.shape)) > MAX_ELEMENTS:
        raise _Unknown("shape")
    return tuple(t.shape)


def _eval_op(op, value, memo) -> np.ndarray:
    name = op.name
    if name == "arith.constant":
        array = constant_array(value)
        if array is None:
            raise _Unknown(name)
        if isinstance(value.type, ir.RankedTensorType) or array.ndim:
            array = np.broadcast_to(array, _shape(value))
        return np.asarray(array)
    if name == "tensor.empty":
        return np.zeros(_shape(value))
    if name == "linalg.fill":
        return np.full(_shape(value), _eval(op.operands[0], memo))
    if name in ("tensor.expand_shape", "tensor.collapse_shape"):
        return _eval(op.operands[0], memo).reshape(_shape(value))
    if name == "tensor.concat":
        dim = ir.IntegerAttr(op.attributes["dim"]).value
        return np.concatenate([_eval(v, memo) for v in op.operands], axis=dim)
    if name == "linalg.generic":
        return _eval_generic(op, value, memo)
    raise _Unknown(name)


def _unsigned(array) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array
    return array.astype(np.int64).astype(np.uint64)


def _rounded(array, mlir_type):
    dtype = numpy_dtype(mlir_type)
    return np.asarray(array).astype(dtype) if dtype is not None else array


def _eval_generic(op, value, memo) -> np.ndarray:
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if any("parallel" not in it for it in iterators):
        raise _Unknown("reduction")
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    n_out = len(op.results)
    n_in = len(op.operands) - n_out
    domain = _shape(op.results[0])
    index = np.indices(domain) if domain else np.zeros((0,), np.int64)
    block = op.regions[0].blocks[0]
    env = {}
    for i in range(n_in):
        tensor_value = _eval(op.operands[i], memo)
        coords = []
        for expr in maps[i].results:
            if isinstance(expr, ir.AffineDimExpr):
                coords.append(index[expr.position])
            elif isinstance(expr, ir.AffineConstantExpr):
                coords.append(np.full(domain, expr.value, np.int64))
            else:
                raise _Unknown("affine expr")
        env[i] = tensor_value[tuple(coords)] if coords else np.broadcast_to(tensor_value, domain)
    for i in range(n_in, len(op.operands)):
        env[i] = np.zeros(domain)  # outputs: all-parallel bodies here never read them
    values = {}

    def get(v):
        if isinstance(v.owner, ir.Block):
            if v.owner == block:
                return env[v.arg_number]
            raise _Unknown("outer block argument")
        if v in values:
            return values[v]
        inner = _owner(v)
        if inner is not None and inner.parent is not None and inner.parent == op:
            raise _Unknown("use before def")
        return _eval(v, memo)  # a value captured from outside the body

    results = None
    for body_op in block.operations:
        name = body_op.name
        if name == "linalg.yield":
            results = [get(v) for v in body_op.operands]
            break
        args = [get(v) for v in body_op.operands]
        if name == "linalg.index":
            out = index[ir.IntegerAttr(body_op.attributes["dim"]).value]
        elif name in _BINARY:
            out = _BINARY[name](args[0], args[1])
        elif name == "arith.negf":
            out = -args[0]
        elif name in _UNARY:
            out = _UNARY[name](args[0])
        elif name == "arith.select":
            out = np.where(args[0], args[1], args[2])
        elif name in ("arith.cmpi", "arith.cmpf"):
            predicate = ir.IntegerAttr(body_op.attributes["predicate"]).value
            compare = (_CMPI if name == "arith.cmpi" else _CMPF).get(predicate)
            if compare is None:  # ord/uno-only and always true/false predicates
                raise _Unknown("predicate")
            a, b = args[0], args[1]
            if name == "arith.cmpi" and predicate in _UNSIGNED:
                a, b = _unsigned(a), _unsigned(b)  # negatives compare as large values
            out = compare(a, b)
            if name == "arith.cmpf":  # NaN: ordered predicates are false, unordered true
                unordered = np.isnan(a) | np.isnan(b)
                out = (out | unordered) if predicate >= 8 else (out & ~unordered)
        elif name in _CASTS:
            out = args[0]
        elif name == "arith.constant":
            out = constant_array(body_op.results[0])
            if out is None:
                raise _Unknown("constant")
        else:
            raise _Unknown(name)
        values[body_op.results[0]] = np.broadcast_to(_rounded(out, body_op.results[0].type),
                                                     domain)
    if results is None:
        raise _Unknown("no yield")
    for i, r in enumerate(op.results):
        if r == value:
            return np.asarray(results[i])
    raise _Unknown("result")
