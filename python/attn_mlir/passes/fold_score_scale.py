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

The projection may also be some of the columns of a fused product: after
`attn-fuse-projections` or GPT-2's Conv1D, q is the column range of Wq in
`x @ [Wq | Wk | Wv] (+ b)`; in GPT-NeoX, q/k/v interleave per head (the
`[.., H, 3, D]` view, q = `[.., h, 0, :]`), so q is a strided set of columns.
`projections.column_view` says which columns of W (and entries of b) a value
reads through reshapes, transposes and static slices; only those are scaled,
provided
* the product accumulates into zeros and W (and b, a constant per column) are
  constants;
* no other reader of the product, of its biased result or of any view between
  it and q reads one of q's columns (k and v read others), and no entry of b is
  added to both q's columns and others.
A product with a dynamic token count is taken whole (all its columns). A scaled
constant that something else also reads is a copy, and must fit the
`max-weight-growth` budget (a remark says when it does not).
Weights `[out, in]` behind `linalg.transpose` are not constants yet: run
`attn-fold-transposes` first.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir

from .. import rewrite_log
from ..constants import constant_array, constant_producer, create_weight
from ..linalg_match import (MATMUL_OPS, all_parallel, block_arg_index, body_ops, dims_of,
                            erase_if_dead, generic_body, is_zero_fill, nbytes,
                            num_inputs, numel, operand_maps, producer, producer_named,
                            scalar_constant, users)
from ..match.contraction import classify
from ..projections import (DATA_MOVEMENT, NotAProjection, Projection, broadcast_constant,
                           column_view, one_token_shape)
from ..rewrite_cost import WeightBudget
from ..rewriting import MAX_WEIGHT_GROWTH, Fired, Skip, rewrite_functions
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


def _constant_product(op: ir.Operation) -> bool:
    return op.name == "linalg.matmul" and constant_producer(op.operands[1]) is not None


def query_projections(value: ir.Value) -> list[ir.Operation]:
    """Ops upstream of `value` whose result may be a view of a product with a constant
    weight, nearest first.

    The walk follows linear ops back, and matmuls through their left operand
    only. Each view (the product, its biased result, a slice of its columns, a
    reshape or transpose of one) is a candidate of its own: the nearest whose cone
    is linear and whose columns no one else reads is the one scaled.
    """
    found, seen, work = [], set(), [value]
    while work:
        op = producer(work.pop(0))
        if op is None or op in seen:
            continue
        seen.add(op)
        if op.name in MATMUL_OPS + DATA_MOVEMENT + ("linalg.generic",):
            found.append(op)
        if _constant_product(op):
            continue
        if op.name in MATMUL_OPS or op.name in RESHAPES:
            work.append(op.operands[0])
        elif op.name == "tensor.concat":
            work.extend(op.operands)
        elif op.name == "linalg.generic":
            work.extend(list(op.operands)[:num_inputs(op)])
    return found


def _columns_read(user: ir.Operation, value: ir.Value) -> np.ndarray:
    """The product columns that `user` reads from the view `value` (all of value's
    when `user` is not itself data movement)."""
    if user.name in DATA_MOVEMENT:
        try:
            return column_view(user.results[0]).columns()
        except NotAProjection:
            pass  # a dynamic slice, say: count every column of its source
    return column_view(value).columns()


def _shared_columns_reason(projection: Projection, columns: np.ndarray) -> str | None:
    """Why a reader off the view's chain sees some of `columns` (None if none does).

    The chain is the product, then each op reading the one before; the last one's
    readers are the cone, checked by check_linear_cone.
    """
    for op, next_op in zip(projection.ops, projection.ops[1:]):
        for user in users(op.results[0]):
            if user == next_op:
                continue
            if np.intersect1d(_columns_read(user, op.results[0]), columns).size:
                return f"`{user.name}` also reads the scaled columns of the projection"
    return None


def _bias_entries(projection: Projection, columns: np.ndarray) -> np.ndarray | str:
    """Flat indices of the bias constant's entries added to `columns`, or why they are
    not only added there (an entry shared with other columns cannot be scaled)."""
    generic, index = projection.bias_input
    array = constant_array(generic.operands[index])
    entries = broadcast_constant(np.arange(array.size).reshape(array.shape),
                                 operand_maps(generic)[index], one_token_shape(generic.results[0]))
    scaled = np.isin(column_view(generic.results[0]).cols, columns)
    inside, outside = np.unique(entries[scaled]), np.unique(entries[~scaled])
    if np.intersect1d(inside, outside).size:
        return "a bias entry is added to scaled and unscaled columns"
    return inside


def _replace_constant(owner: ir.Operation, index: int, array: np.ndarray, rewriter) -> int:
    """Make `array` operand `index` of `owner`, erasing the old constant if dead; bytes added."""
    value = owner.operands[index]
    with ir.InsertionPoint(owner), owner.location:
        scaled = create_weight(array, value.type)
    old, old_bytes = producer(value), nbytes(value)
    owner.operands[index] = scaled
    return nbytes(scaled) - (old_bytes if erase_if_dead(old, rewriter) else 0)


def _scaled(array: np.ndarray, factor: float, entries=Ellipsis, axis: int | None = None):
    """A copy of `array` with `entries` (flat, or along `axis`) multiplied by `factor`."""
    out = array.copy()
    factor = np.asarray(factor, array.dtype)
    if axis is None:
        flat = out.reshape(-1)
        flat[entries] = (flat[entries] * factor).astype(array.dtype)
    else:
        part = (slice(None),) * axis + (entries,)
        out[part] = (out[part] * factor).astype(array.dtype)
    return out


def _describe(columns: np.ndarray, total: int) -> str:
    if len(columns) == total:
        return ""
    if columns[-1] - columns[0] + 1 == len(columns):
        return " (columns %d:%d)" % (columns[0], columns[-1] + 1)
    return f" ({len(columns)} of {total} columns)"


def _legal(scale: ir.Operation, scaled: ir.Value, candidates: list[ir.Operation],
           reasons: list[str]) -> tuple[Projection, np.ndarray, np.ndarray | None, list] | None:
    """The nearest candidate that may be scaled: (projection, its columns, the bias
    entries to scale, the biases in its cone); None after listing in `reasons` why each
    view, and each constant-weight product that is not one, may not be."""
    for op in candidates:
        try:
            projection = column_view(op.results[0])
        except NotAProjection as e:
            if _constant_product(op):
                reasons.append(str(e))
            continue
        columns = projection.columns()
        if columns.size == 0:
            reasons.append("the scaled value is empty (nothing to fold)")
            continue
        reason = _shared_columns_reason(projection, columns)
        entries = None
        if reason is None and projection.bias_input is not None:
            entries = _bias_entries(projection, columns)
            reason = entries if isinstance(entries, str) else None
        biases: list = []
        if reason is None:
            reason = check_linear_cone(op.results[0], scale, scaled, biases)
        if reason is None:
            return projection, columns, entries, biases
        reasons.append(reason)
    return None


def fold_scale_rewrite(scale: ir.Operation, budget: WeightBudget, rewriter):
    """`f(x @ W) * factor == f(x @ (factor * W))` for the nearest legal projection,
    scaling only the columns of W (and of its bias) that the scaled value reads:
    Fired, a Skip, or None when `scale` is not a scale."""
    match = scale_of(scale)
    if match is None:
        return None
    scaled, factor = match
    reasons: list[str] = []
    legal = _legal(scale, scaled, query_projections(scaled), reasons)
    if legal is None and not reasons:
        return Skip(scale, "no matmul with a constant weight on the query side of the "
                           "scaled value")
    if legal is None:
        return Skip(scale, "cannot move the scale into a projection weight: "
                           + "; ".join(dict.fromkeys(reasons)))
    projection, columns, entries, biases = legal
    matmul = projection.ops[0]
    weight = matmul.operands[1]
    every_bias = biases + ([projection.bias_input] if projection.bias_input is not None else [])
    # A scaled copy replaces a constant only if nothing else uses it: others keep the old one.
    growth = sum(nbytes(v) for v in [weight] + [g.operands[i] for g, i in every_bias]
                 if len(users(v)) > 1)
    if not budget.allows(growth):
        return Skip(scale, budget.describe(growth), remark=True)
    product = classify(matmul)
    column_axis = list(product.rhs_dims).index(product.n[0])  # W as [K, N] or as [N, K]
    added = _replace_constant(matmul, 1, _scaled(constant_array(weight), factor, columns,
                                                 axis=column_axis), rewriter)
    for generic, index in biases:
        added += _replace_constant(generic, index,
                                   _scaled(constant_array(generic.operands[index]), factor),
                                   rewriter)
    if projection.bias_input is not None:
        generic, index = projection.bias_input
        added += _replace_constant(generic, index,
                                   _scaled(constant_array(generic.operands[index]), factor,
                                           entries), rewriter)
    saved = numel(scaled)
    init = producer(scale.operands[len(scale.operands) - 1])
    rewriter.replace_op(scale, [scaled])
    if init is not None and init.name == "tensor.empty":
        erase_if_dead(init, rewriter)
    where = _describe(columns, projection.weights.shape[1])
    if every_bias:
        where += f" and {len(every_bias)} bias{'es' if len(every_bias) > 1 else ''}"
    rewrite_log.fired(NAME, matmul, f"scale {factor:g} folded into the projection weight{where}",
                      flops_saved=saved, constant_bytes_delta=added)
    return Fired()


@register_pass(NAME, summary="Fold a constant scale on attention scores (or on q and k) into "
                             "the query/key projection weight.", options=(MAX_WEIGHT_GROWTH,))
def fold_score_scale(op: ir.Operation, max_weight_growth: float = 1.0) -> None:
    rewrite_functions(op, NAME, ("linalg.generic",), lambda _: True, fold_scale_rewrite,
                      max_weight_growth)


__all__ = ["fold_score_scale", "scale_of", "check_linear_cone"]
