"""attn-fold-score-scale: a constant scale on the scores moves into the query weight.

Algebra: with `q = x @ Wq` and `f` linear in `q` (homogeneous of degree 1),

    f(x @ Wq) * s  ==  f(x @ (s * Wq))          (and `/ d` is `* (1/d)`)

Here `f` is what lies between the query projection and the scale: reshapes
(`expand_shape`, `collapse_shape`, `extract_slice`, `concat` of pieces that are
all linear in `q`, `linalg.transpose`), elementwise `linalg.generic`s whose body
is degree 1 in `q` (rotary embedding: `q * cos + rotate_half(q) * sin`, with
`negf`, `mulf`/`divf` by anything not derived from `q`, `addf`/`subf` of two
degree-1 terms; cos/sin may be runtime values) and the scores matmul `Q @ K^T`
itself (linear in `Q` while `K` does not derive from `q`, with a zero init).
So both forms fold: `S * s` / `S / d` after `Q K^T`, and the split form that
`scaled_dot_product_attention` exports (`q * s^.5` and `k * s^.5`, each folding
into its own projection's weight). The scale generic is removed and the weight
constant is replaced by a scaled copy (`numpy`, once per rewrite).

Legality:
* the scale is a `linalg.generic` computing `v * c` or `v / c` (identity maps)
  with `c` a scalar constant captured by the body, a splat constant or a 0-d
  constant; a per-element (non-uniform) factor is not a scale;
* walking back from `v` (through the left operand of matmuls only, i.e. the
  query side of `Q K^T`) reaches a `linalg.matmul` whose right operand is a
  constant (a weight passed as an argument never is) and that accumulates
  into zeros: `(x @ Wq + c) * s` is `x @ (s * Wq) + s * c`, not
  `x @ (s * Wq) + c`, so a projection with a non-zero init is left alone;
* everything computed from that projection's result up to `v` is degree 1 in
  it (rules above) and flows nowhere else: no other user, no return; in
  particular the unscaled scores must have no other user.

The projection may also be a column slice of a fused `x @ [Wq | Wk | Wv]`
(after `attn-fuse-projections`): then only Wq's columns are scaled, provided no
other slice reads them. Weights `[out, in]` behind `linalg.transpose` are not
constants yet: run `attn-fold-transposes` first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mlir import ir

from .. import rewrite_log
from ..constants import constant_array, create_constant
from ..ir_utils import walk_ops
from ..linalg_match import (MATMUL_OPS, all_parallel, block_arg_index, body_ops, dims_of,
                            erase_if_dead, erase_with_init, generic_body, is_zero_fill, nbytes,
                            num_inputs, numel, operand_maps, producer, producer_named,
                            scalar_constant, static_shape, users)
from ..projections import elementwise_body
from ..rewrite_cost import WeightBudget, enclosing_function
from ..rewriting import MAX_WEIGHT_GROWTH
from . import register_pass

NAME = "attn-fold-score-scale"
RESHAPES = ("tensor.expand_shape", "tensor.collapse_shape", "tensor.extract_slice",
            "tensor.cast", "linalg.transpose", "linalg.copy")


def _uniform_factor(operand: ir.Value, generic: ir.Operation) -> float | None:
    """The number an operand of the scale body stands for, if it is one constant."""
    body = generic_body(generic)
    index = block_arg_index(operand, body)
    if index is None:
        return scalar_constant(operand)  # captured from outside the body
    if index >= num_inputs(generic):
        return None  # the init
    return scalar_constant(generic.operands[index])


def scale_of(generic: ir.Operation) -> tuple[ir.Value, float] | None:
    """`(v, f)` when `generic` computes `v * f` elementwise with a uniform constant `f`."""
    if generic.name != "linalg.generic" or len(generic.results) != 1:
        return None
    if not all_parallel(generic) or num_inputs(generic) not in (1, 2):
        return None
    ops = body_ops(generic)
    if len(ops) != 2 or ops[0].name not in ("arith.mulf", "arith.divf"):
        return None
    if ops[1].operands[0] != ops[0].results[0]:
        return None
    body, maps = generic_body(generic), operand_maps(generic)
    rank = maps[0].n_dims
    lhs, rhs = ops[0].operands[0], ops[0].operands[1]
    orders = [(lhs, rhs), (rhs, lhs)] if ops[0].name == "arith.mulf" else [(lhs, rhs)]
    for data, factor_operand in orders:
        index = block_arg_index(data, body)
        if index is None or index >= num_inputs(generic):
            continue
        value = generic.operands[index]
        if dims_of(maps[index]) != list(range(rank)) or value.type != generic.results[0].type:
            continue
        factor = _uniform_factor(factor_operand, generic)
        if factor is None or factor == 0.0 or not math.isfinite(factor):
            continue
        return value, (factor if ops[0].name == "arith.mulf" else 1.0 / factor)
    return None


def _coscalable(generic: ir.Operation, value: ir.Value, in_cone: set[int]) -> int | None:
    """The input index of `value` when it is a block argument read only here, for a
    constant input outside the cone: a bias that can be scaled along (None otherwise)."""
    body = generic_body(generic)
    index = block_arg_index(value, body)
    if index is None or index >= num_inputs(generic) or index in in_cone:
        return None
    if len(users(value)) != 1 or constant_array(generic.operands[index]) is None:
        return None
    return index


def _body_degree(generic: ir.Operation, in_cone: set[int],
                 coscaled: list | None = None) -> str | None:
    """Why the generic's body is not degree 1 in the cone inputs (None if it is).

    With `coscaled` (a list), a constant input added to a degree-1 value (a bias:
    `q + b`) counts as degree 1 and its index is appended: scaling it along with
    the projection keeps the sum scaled, `(q + b) * s == q * s + b * s`.
    """
    body = generic_body(generic)
    degree: dict = {}
    for i, arg in enumerate(body.arguments):
        if i >= num_inputs(generic) and len(users(arg)):
            return "it reads its init"
        degree[arg] = 1 if i in in_cone else 0
    for op in body_ops(generic):
        d = [degree.get(v, 0) for v in op.operands]  # values from outside: degree 0
        if op.name == "linalg.yield":
            return None if all(x == 1 for x in d) else "a result is not linear in it"
        if op.name == "arith.mulf":
            result = d[0] + d[1]
        elif op.name == "arith.divf":
            result = d[0] if d[1] == 0 else 2
        elif op.name in ("arith.addf", "arith.subf") and sorted(d) == [0, 1] \
                and coscaled is not None and \
                (bias := _coscalable(generic, op.operands[d.index(0)], in_cone)) is not None:
            coscaled.append((generic, bias))
            result = 1
        elif op.name in ("arith.addf", "arith.subf"):
            result = d[0] if d[0] == d[1] else 2
        elif op.name == "arith.negf":
            result = d[0]
        else:
            result = 0 if not any(d) else 2
        if result > 1:
            return f"its body's `{op.name}` is not linear in it"
        for r in op.results:
            degree[r] = result
    return "it has no yield"


def _linear_reason(op: ir.Operation, in_cone: set[int], coscaled: list | None = None) -> str | None:
    """Why `op` is not linear (degree 1) in its operands `in_cone` (None if it is)."""
    name = op.name
    if name in RESHAPES:
        return None if in_cone == {0} else f"`{name}` uses it as more than its source"
    if name == "tensor.concat":
        if in_cone == set(range(len(op.operands))):
            return None
        return "`tensor.concat` mixes it with pieces not derived from it"
    if name in MATMUL_OPS:
        if in_cone not in ({0}, {1}):
            return f"`{name}` uses it in more than one operand"
        return None if is_zero_fill(op.operands[2]) else f"`{name}` has a non-zero init"
    if name == "linalg.generic":
        if any(i >= num_inputs(op) for i in in_cone):
            return "a `linalg.generic` uses it as its init"
        reason = _body_degree(op, in_cone, coscaled)
        return None if reason is None else f"`linalg.generic`: {reason}"
    return f"`{name}` is not known to be linear"


def check_linear_cone(source: ir.Value, scale: ir.Operation, scaled: ir.Value,
                      coscaled: list | None = None) -> str | None:
    """Why scaling `source` by f does not scale exactly `scaled` by f (None if it does).

    The cone is every op reachable from `source` without passing through
    `scale`; each must be linear in its cone operands, and only `scaled` may
    leave the cone, into `scale`. With `coscaled` (a list), constant biases added
    in the cone are allowed and listed as (generic, input index): they must be
    scaled by f too.
    """
    cone_values, cone_ops, work = {source}, {}, [source]
    while work:
        value = work.pop()
        for use in value.uses:
            owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if owner == scale.operation:
                if value != scaled:
                    return "the scale reads the projection through another operand"
                continue
            if owner.name in ("func.return", "func.call") or owner.name.startswith("scf."):
                return f"it is used by `{owner.name}`"
            cone_ops.setdefault(owner, set()).add(use.operand_number)
            for result in owner.results:
                if result not in cone_values:
                    cone_values.add(result)
                    work.append(result)
    if scaled not in cone_values:
        return "the scaled value does not derive from the projection"
    if len(users(scaled)) != 1:
        return "the unscaled value has another user"
    for op, operands in cone_ops.items():
        reason = _linear_reason(op, operands, coscaled)
        if reason is not None:
            return reason
    return None


@dataclass
class Projection:
    """A matmul `x @ W` with constant `W` whose result (or one column slice) feeds the scale."""

    matmul: ir.Operation
    result: ir.Value                        # the matmul's result, or the column slice
    columns: tuple[int, int] | None = None  # [start, stop) of the slice, None for all
    bias: tuple | None = None               # (generic, input index) of a per-column bias


def _last_axis_columns(op: ir.Operation) -> tuple[int, int] | None:
    """[start, stop) when `op` slices only the last axis (unit strides), else None."""
    if op.name != "tensor.extract_slice" or len(op.operands) != 1:
        return None
    view = op.opview
    offsets, sizes, strides = (list(a) for a in (view.static_offsets, view.static_sizes,
                                                 view.static_strides))
    source = static_shape(op.operands[0])
    if source is None or any(offsets[:-1]) or sizes[:-1] != source[:-1] or any(
            s != 1 for s in strides):
        return None
    return offsets[-1], offsets[-1] + sizes[-1]


def _keeps_last_axis(op: ir.Operation) -> bool:
    """A reshape whose last dim is the last dim of its source, untouched."""
    if op.name not in ("tensor.expand_shape", "tensor.collapse_shape") or len(op.operands) != 1:
        return False
    groups = [[ir.IntegerAttr(d).value for d in g] for g in op.attributes["reassociation"]]
    source, result = static_shape(op.operands[0]), static_shape(op.results[0])
    return source is not None and result is not None and len(groups[-1]) == 1 \
        and source[-1] == result[-1]


def _column_bias(generic: ir.Operation, value: ir.Value) -> int | None:
    """The input index of `b` when `generic` computes `value + b[column]`, b constant."""
    body = elementwise_body(generic)
    if body is None or body[0] != "arith.addf" or len(generic.operands) != 3:
        return None
    _, operands, maps = body
    if sorted(w for w, _ in operands) != ["in", "in"] or generic.operands[0] != value:
        return None
    rank = maps[0].n_dims
    if dims_of(maps[0]) != list(range(rank)) or dims_of(maps[1]) != [rank - 1]:
        return None
    return 1 if constant_array(generic.operands[1]) is not None else None


def _column_slice(slice_op: ir.Operation) -> Projection | None:
    """One Wi's columns of `x @ [W1 | W2 | ...] (+ b)`, seen through reshapes that keep the
    column axis: what attn-fuse-projections makes, and GPT-2's / GPT-NeoX's fused QKV."""
    columns = _last_axis_columns(slice_op)
    if columns is None:
        return None
    chain, value = [], slice_op.operands[0]
    while (op := producer(value)) is not None and _keeps_last_axis(op):
        chain.append(op)
        value = op.operands[0]
    bias = None
    op = producer(value)
    if op is not None and op.name == "linalg.generic":
        matmul = producer_named(op.operands[0], "linalg.matmul")
        index = _column_bias(op, op.operands[0]) if matmul is not None else None
        if index is None:
            return None
        bias = (op, index)
        chain.append(op)
    else:
        matmul = producer_named(value, "linalg.matmul")
    if matmul is None or producer_named(matmul.operands[1], "arith.constant") is None:
        return None
    maps = [dims_of(m) for m in operand_maps(matmul)]
    if maps[2] != [0, 1] or maps[1] is None or 1 not in maps[1]:
        return None
    # Every op between the matmul and the slice feeds only the next one...
    for inner, outer in zip(chain[1:] + [matmul], chain):
        if any(u != outer for u in users(inner.results[0])):
            return None
    # ...and the last one's other readers are slices of other columns.
    last = chain[0] if chain else matmul
    top = last.results[0] if chain else matmul.results[0]
    if slice_op.operands[0] != top:
        return None
    for user in users(top):
        if user == slice_op:
            continue
        other = _last_axis_columns(user)
        if other is None or not (other[1] <= columns[0] or columns[1] <= other[0]):
            return None  # another reader of these columns would see them scaled
    return Projection(matmul, slice_op.results[0], columns, bias)


def query_projections(value: ir.Value) -> list[Projection]:
    """Matmuls with a constant right operand upstream of `value`, nearest first.

    The walk follows linear ops back, and matmuls through their left operand
    only. A column slice of a fused projection is a candidate of its own.
    """
    found, seen, work = [], set(), [value]
    while work:
        op = producer(work.pop(0))
        if op is None or op in seen:
            continue
        seen.add(op)
        if op.name == "linalg.matmul" and producer_named(op.operands[1], "arith.constant"):
            found.append(Projection(op, op.results[0]))
            continue
        if op.name == "tensor.extract_slice":
            sliced = _column_slice(op)
            if sliced is not None:
                found.append(sliced)
        if op.name in MATMUL_OPS or op.name in RESHAPES:
            work.append(op.operands[0])
        elif op.name == "tensor.concat":
            work.extend(op.operands)
        elif op.name == "linalg.generic":
            work.extend(list(op.operands)[:num_inputs(op)])
    return found


def _scale_operand(generic: ir.Operation, index: int, factor: float,
                   columns: tuple[int, int] | None = None) -> int:
    """Replace the constant input `index` of `generic` by `factor` times it (only its
    last-axis `columns` when given); bytes added."""
    value = generic.operands[index]
    array = constant_array(value)
    out = array.copy()
    part = (Ellipsis, slice(*columns)) if columns is not None else Ellipsis
    out[part] = (out[part] * np.asarray(factor, array.dtype)).astype(array.dtype)
    with ir.InsertionPoint(generic), generic.location:
        scaled = create_constant(out, value.type)
    old, old_bytes = producer(value), nbytes(value)
    generic.operands[index] = scaled
    return nbytes(scaled) - (old_bytes if erase_if_dead(old) else 0)


def _projection_reason(projection: Projection) -> str | None:
    """Why scaling the projection's weight does not scale its result (None if it does)."""
    if not is_zero_fill(projection.matmul.operands[2]):
        return "the projection accumulates into a non-zero init"
    return None


def scaled_weight_array(projection: Projection, factor: float) -> np.ndarray | None:
    """`factor * W`, or `W` with only the sliced columns scaled."""
    array = constant_array(projection.matmul.operands[1])
    if array is None:
        return None
    factor = np.asarray(factor, array.dtype)
    if projection.columns is None:
        return (array * factor).astype(array.dtype)
    out = array.copy()
    n_axis = dims_of(operand_maps(projection.matmul)[1]).index(1)
    index = [slice(None)] * array.ndim
    index[n_axis] = slice(*projection.columns)
    out[tuple(index)] *= factor
    return out


def fold_scale(scale: ir.Operation, scaled: ir.Value, factor: float,
               max_weight_growth: float = 1.0) -> None:
    """`f(x @ W) * factor == f(x @ (factor * W))` for the nearest legal projection."""
    candidates = query_projections(scaled)
    if not candidates:
        rewrite_log.skipped(NAME, scale, "no matmul with a constant weight on the query side "
                                         "of the scaled value")
        return
    reasons = []
    for projection in candidates:
        reason = _projection_reason(projection)
        biases: list = []
        if reason is None:
            reason = check_linear_cone(projection.result, scale, scaled, biases)
        if reason is None:
            break
        reasons.append(reason)
    else:
        rewrite_log.skipped(NAME, scale, "cannot move the scale into a projection weight: "
                                         + "; ".join(reasons))
        return
    matmul, weight = projection.matmul, projection.matmul.operands[1]
    array = scaled_weight_array(projection, factor)
    if array is None:
        return
    # The scaled copy replaces the weight only if nothing else uses the weight.
    growth = nbytes(weight) if len(users(weight)) > 1 else 0
    every_bias = biases + ([projection.bias] if projection.bias is not None else [])
    growth += sum(nbytes(g.operands[i]) for g, i in every_bias if len(users(g.operands[i])) > 1)
    budget = WeightBudget(enclosing_function(matmul), max_weight_growth)
    if not budget.allows(growth):
        rewrite_log.skipped(NAME, scale, budget.describe(growth), remark=True)
        return
    with ir.InsertionPoint(matmul), matmul.location:
        scaled_weight = create_constant(array, weight.type)
    weight_op, weight_bytes = producer(weight), nbytes(weight)
    matmul.operands[1] = scaled_weight
    freed = weight_bytes if erase_if_dead(weight_op) else 0
    for generic, index in biases:
        freed -= _scale_operand(generic, index, factor)
    if projection.bias is not None:
        freed -= _scale_operand(*projection.bias, factor, projection.columns)
    saved = numel(scaled)
    scale.results[0].replace_all_uses_with(scaled)
    erase_with_init(scale)
    where = "" if projection.columns is None else " (columns %d:%d)" % projection.columns
    if every_bias:
        where += f" and {len(every_bias)} bias{'es' if len(every_bias) > 1 else ''}"
    rewrite_log.fired(NAME, matmul, f"scale {factor:g} folded into the projection weight{where}",
                      flops_saved=saved, constant_bytes_delta=nbytes(scaled_weight) - freed)


@register_pass(NAME, summary="Fold a constant scale on attention scores (or on q and k) into "
                             "the query/key projection weight.", options=(MAX_WEIGHT_GROWTH,))
def fold_score_scale(op: ir.Operation, max_weight_growth: float = 1.0) -> None:
    for generic in walk_ops(op, "linalg.generic"):
        match = scale_of(generic)
        if match is not None:
            fold_scale(generic, *match, max_weight_growth=max_weight_growth)


__all__ = ["fold_score_scale", "scale_of", "check_linear_cone"]
