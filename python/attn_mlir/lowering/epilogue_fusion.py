"""Epilogue fusion for the cpu schedule: a matmul's elementwise consumers run in its tiles.

A bias, a residual add or SwiGLU's `silu(gate) * up` after a matmul
otherwise reads the whole product back from memory in a pass of its own
(for the Llama MLP, 512 x 5632 floats of gate and of up: 23 MB). Here the
last elementwise op of the chain (the sink) is tiled into the `scf.forall`
over the thread tiles its matmuls would get anyway; the elementwise ops
between the matmuls and the sink (torch-mlir writes `silu(x) * y` as
`sigmoid(x)`, `x * s`, `* y`), then the matmuls themselves and the fills of
their accumulators are fused into that loop (`fuse_into_containing_op`).
Inside one thread tile the products are computed first, then the chain
reads them while they are still in the thread's cache (its temporaries get
one slot per thread: lowering/memory_plan.py). Each product is then
register-tiled as the schedule tiles any matmul, each elementwise op
vectorised along its rows.

The matmuls are named `linalg.matmul`s, or their panel form
(lowering/panel_matmul.py), whose result is the [M, N/NR, NR] view of C:
then the chain is first rewritten over that view (`to_panel_view`: every
other operand is expanded the same way, the sink's result collapsed back),
which reads the same elements in the same order.

Identity: tiling along parallel dims and fusing producers into the loop that
consumes them compute every element once, from the same operands, in the
same order (the K loop of each product is unchanged).

Legality (else the ops are scheduled one by one): every op of the chain is
a top-level `linalg.generic` with one result, all-parallel iterators over
the same two static dims [M, N] and an identity output map, reading loop
indices nowhere and every operand through plain dims; a product or chain
value is read only by ops of the chain, as an input, through the identity
map (nothing needs it whole, and fusing it recomputes nothing); products
have static shapes, default maps, M > 1, and M and N that fill the register
tile (no split part); products of the two kinds are not mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import bufferization, linalg, tensor

from ..ir_utils import walk_ops
from ..linalg_match import DEFAULT_MAPS, dims_of, operand_maps, producer, static_shape
from .group_tags import GroupTags
from .panel_matmul import PANEL

# 0 on the sink, then the chain, then the products; a sink whose script failed once
TAGS = GroupTags("__attn_epilogue", "__attn_epilogue_refused")


@dataclass
class Group:
    sink: ir.Operation
    members: list[ir.Operation]     # elementwise ops feeding the sink, in program order
    products: list[ir.Operation]    # panel contractions or named matmuls, in program order
    m: int
    n: int

    @property
    def panel(self) -> bool:
        """Whether the products are panel contractions (else named matmuls)."""
        return PANEL in self.products[0].attributes

    @property
    def k(self) -> list[int]:
        return [static_shape(p.operands[0])[-1] for p in self.products]


def _op(x) -> ir.Operation:
    return x.operation if isinstance(x, ir.OpView) else x


def _users(value: ir.Value) -> list[ir.Operation]:
    return [_op(use.owner) for use in value.uses]


def _elementwise(op: ir.Operation, in_loop, shape=None) -> bool:
    """A top-level all-parallel 2-D generic with one result written through the
    identity map, every operand read through plain dims of a static tensor (or a
    scalar), and no `linalg.index` in its body."""
    if op.name != "linalg.generic" or PANEL in op.attributes or in_loop(op) or len(op.results) != 1:
        return False
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if len(iterators) != 2 or any("parallel" not in it for it in iterators):
        return False
    result = static_shape(op.results[0])
    if result is None or len(result) != 2 or 0 in result or (shape is not None and result != shape):
        return False
    maps = [dims_of(m) for m in operand_maps(op)]
    if maps[-1] != [0, 1] or any(d is None for d in maps):
        return False
    for value in op.operands:
        if isinstance(value.type, ir.ShapedType) and static_shape(value) is None:
            return False
    return not walk_ops(op, "linalg.index")


def _product(value: ir.Value, shape: list[int]):
    """(product, is_panel) if `value` is a matmul result of `shape` (a named
    `linalg.matmul` with default maps, or the collapse of a panel contraction
    whose only user is that collapse), else None."""
    op = producer(value)
    if op is None:
        return None
    if op.name == "tensor.collapse_shape":
        panel = producer(op.operands[0])
        source = static_shape(op.operands[0])
        if (panel is None or PANEL not in panel.attributes or len(panel.results) != 1
                or source is None or len(source) != 3 or [source[0], source[1] * source[2]] != shape
                or str(op.attributes["reassociation"]) != "[[0], [1, 2]]"):
            return None
        users = _users(panel.results[0])
        return (panel, True) if len(users) == 1 and users[0] == op else None
    if op.name != "linalg.matmul" or len(op.results) != 1:
        return None
    if [dims_of(m) for m in operand_maps(op)] != DEFAULT_MAPS["linalg.matmul"][1]:
        return None
    if any(static_shape(v) is None for v in op.operands) or static_shape(op.results[0]) != shape:
        return None
    return op, False


def _read_in_chain(value: ir.Value, members) -> bool:
    """Whether every use of `value` is an input of a chain op read through the
    identity map (so that the tile of the value each op reads is the tile it writes)."""
    for use in value.uses:
        owner = _op(use.owner)
        if owner not in members:
            return False
        n_inputs = len(owner.operands) - len(owner.results)
        if use.operand_number >= n_inputs or dims_of(operand_maps(owner)[use.operand_number]) != [0, 1]:
            return False
    return True


def find_groups(root: ir.Operation, in_loop) -> list[Group]:
    groups, taken = [], set()
    generics = walk_ops(root, "linalg.generic")
    order = {op: i for i, op in enumerate(walk_ops(root))}
    for sink in reversed(generics):
        if sink in taken or TAGS.refused in sink.attributes or not _elementwise(sink, in_loop):
            continue
        shape = static_shape(sink.results[0])
        members = {sink: None}
        frontier = [sink]
        while frontier:
            op = frontier.pop()
            n_inputs = len(op.operands) - len(op.results)
            for value, amap in zip(list(op.operands)[:n_inputs], operand_maps(op)):
                owner = producer(value)
                if (owner is None or owner in members or dims_of(amap) != [0, 1]
                        or _product(value, shape) is not None):
                    continue
                if _elementwise(owner, in_loop, shape) and owner not in taken:
                    members[owner] = None
                    frontier.append(owner)
        # Keep only members all of whose users are in the chain (fixpoint).
        changed = True
        while changed:
            changed = False
            for op in list(members):
                if op != sink and not _read_in_chain(op.results[0], members):
                    del members[op]
                    changed = True
        products = {}
        for op in members:
            n_inputs = len(op.operands) - len(op.results)
            for value, amap in zip(list(op.operands)[:n_inputs], operand_maps(op)):
                found = _product(value, shape)
                if found is not None and dims_of(amap) == [0, 1]:
                    products.setdefault(found[0], (found[1], value))
        # A product is fused only if everything that reads it is in the chain.
        products = {p: kind for p, (kind, value) in products.items()
                    if _read_in_chain(value, members)}
        if any(products.values()):
            products = {p: kind for p, kind in products.items() if kind}
        if not products:
            continue
        chain = sorted((op for op in members if op != sink), key=order.get)
        for op in members:
            taken.add(op)
        groups.append(Group(sink, chain, sorted(products, key=order.get), shape[0], shape[1]))
    return groups


def _split(value: ir.Value, dims: list[int], j: int, nr: int) -> tuple[ir.Value, list[int]]:
    """`value` read through loop dims `dims` of [M, N], as read over [M, N/NR, NR]."""
    if 1 not in dims:
        return value, dims
    at = dims.index(1)
    shape = static_shape(value)
    new_shape = shape[:at] + [j, nr] + shape[at + 1:]
    groups = [[i] for i in range(at)] + [[at, at + 1]] + [[i + 1] for i in range(at + 1, len(shape))]
    element = ir.RankedTensorType(value.type).element_type
    expanded = tensor.expand_shape(ir.RankedTensorType.get(new_shape, element), value, groups,
                                   [], new_shape)
    return expanded, dims[:at] + [1, 2] + dims[at + 1:]


def to_panel_view(group: Group, nr: int) -> list[ir.Operation]:
    """Rewrite the chain over [M, N/NR, NR] (its d1 split into d1, d2): products
    are read as their panel results, chain values as the rewritten ops' results,
    every other operand through an `expand_shape`; the sink's result is collapsed
    back to its type. Returns the new chain, sink last."""
    j = group.n // nr
    mapping, collapses = {}, []
    for product in group.products:
        collapse = _users(product.results[0])[0]
        collapses.append(collapse)
        mapping[collapse.results[0]] = product.results[0]
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    old = group.members + [group.sink]
    new = []
    for op in old:
        n_inputs = len(op.operands) - len(op.results)
        inputs, outputs, maps = [], [], []
        with ir.InsertionPoint(group.sink), op.location:
            for i, (value, amap) in enumerate(zip(op.operands, operand_maps(op))):
                dims = dims_of(amap)
                if i < n_inputs and dims == [0, 1] and value in mapping:
                    new_value, new_dims = mapping[value], [0, 1, 2]
                elif i >= n_inputs and not list(op.regions[0].blocks[0].arguments[i].uses):
                    # An output only written: a fresh tensor (an init shared with other
                    # ops, as CSE leaves `tensor.empty`s, would be copied).
                    new_value = tensor.empty([group.m, j, nr],
                                             ir.RankedTensorType(value.type).element_type)
                    new_dims = [0, 1, 2]
                elif isinstance(value.type, ir.ShapedType):
                    new_value, new_dims = _split(value, dims, j, nr)
                else:
                    new_value, new_dims = value, dims
                (inputs if i < n_inputs else outputs).append(new_value)
                maps.append(ir.AffineMapAttr.get(
                    ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(d) for d in new_dims])))
            generic = linalg.GenericOp([outputs[0].type], inputs, outputs, ir.ArrayAttr.get(maps),
                                       ir.ArrayAttr.get([parallel] * 3))
        op.regions[0].blocks[0].append_to(generic.regions[0])
        mapping[op.results[0]] = generic.result
        new.append(generic.operation)
    with ir.InsertionPoint(group.sink), group.sink.location:
        result = tensor.collapse_shape(group.sink.results[0].type, new[-1].results[0], [[0], [1, 2]])
    group.sink.results[0].replace_all_uses_with(result)
    for op in reversed(old):
        op.erase()
    for collapse in collapses:
        collapse.erase()
    return new


def own_accumulators(products: list[ir.Operation]) -> None:
    """Give each product whose accumulator is a fill its own fill, into a
    `bufferization.alloc_tensor`: one fill shared by two products (CSE merges
    identical `tensor.empty` + fill pairs) would be copied for the second, and an
    allocation, unlike an empty tensor, is never merged again."""
    for product in products:
        fill = producer(product.operands[2])
        if fill is None or fill.name != "linalg.fill":
            continue
        with ir.InsertionPoint(product), product.location:
            buffer = bufferization.alloc_tensor(product.operands[2].type, [])
            own = linalg.fill(fill.operands[0], outs=[buffer])
        product.operands[2] = own
        if not list(fill.results[0].uses):
            fill.erase()
