"""Kernels that attn-lower emits in place of attn.* ops.

A kernel is MLIR text for one function whose arguments are the op's operands
(with their exact types) and whose single result replaces the op's result.
Shapes, tile sizes and attributes are parameters of the Python function that
writes the text; `inline_kernel` parses it in the op's context and moves the
body in front of the op, so no call or private function is left behind.
"""

from __future__ import annotations

from mlir import ir


class Emitter:
    """Collects lines of MLIR text and hands out fresh SSA names (never reused, so
    nested regions never shadow a name). Constants go to a header emitted first."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.header: list[str] = []
        self._count = 0
        self._consts: dict[tuple, str] = {}

    def fresh(self, hint: str = "v") -> str:
        self._count += 1
        return f"%{hint}{self._count}"

    def line(self, text: str) -> None:
        self.lines.append("  " + text)

    def op(self, text: str, hint: str = "v") -> str:
        """Emit `%name = text` and return %name."""
        name = self.fresh(hint)
        self.line(f"{name} = {text}")
        return name

    def _const(self, key, text: str, hint: str) -> str:
        if key not in self._consts:
            name = self.fresh(hint)
            self.header.append(f"  {name} = {text}")
            self._consts[key] = name
        return self._consts[key]

    def index(self, value: int) -> str:
        return self._const(("index", value), f"arith.constant {value} : index", "c")

    def float(self, value: float, ftype: str) -> str:
        return self._const((ftype, repr(value)),
                           f"arith.constant {float_literal(value, ftype)} : {ftype}", "cf")

    def body(self) -> str:
        return "\n".join(self.header + self.lines)


_NEG_INF = {"f16": "0xFC00", "bf16": "0xFF80", "f32": "0xFF800000", "f64": "0xFFF0000000000000"}


def float_literal(value: float, ftype: str) -> str:
    if value == float("-inf"):
        return _NEG_INF[ftype]
    return repr(float(value))


def affine_map(dims: int, results) -> str:
    names = [f"d{i}" for i in range(dims)]
    out = [r if isinstance(r, str) else names[r] for r in results]
    return f"affine_map<({', '.join(names)}) -> ({', '.join(out)})>"


def generic(e: "Emitter", ins, outs, maps, iterators, body, elem_types=None) -> list[str]:
    """Emit a linalg.generic. `ins`/`outs` are (name, type) pairs; `body(args)` emits the
    region's ops through `e` and returns the yielded names. Returns the result names."""
    res = e.fresh("g")
    out_types = [t for _, t in outs]
    count = len(outs)
    head = f"{res}:{count}" if count > 1 else res
    iters = ", ".join(f'"{it}"' for it in iterators)
    ins_text = (f"ins({', '.join(n for n, _ in ins)} : {', '.join(t for _, t in ins)}) "
                if ins else "")
    e.line(f"{head} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
           f"iterator_types = [{iters}]}} {ins_text}"
           f"outs({', '.join(n for n, _ in outs)} : {', '.join(out_types)}) {{")
    scalars = [_elem(t) for _, t in list(ins) + list(outs)]
    args = [e.fresh("a") for _ in scalars]
    e.line("^bb0(" + ", ".join(f"{a}: {s}" for a, s in zip(args, scalars)) + "):")
    yielded = body(args)
    e.line(f"  linalg.yield {', '.join(yielded)} : "
           f"{', '.join(_elem(t) for t in out_types)}")
    results = f"({', '.join(out_types)})" if count > 1 else out_types[0]
    e.line(f"}} -> {results}")
    return [f"{res}#{i}" for i in range(count)] if count > 1 else [res]


def _elem(tensor_type: str) -> str:
    inner = tensor_type[len("tensor<"):-1]
    return inner.split("x")[-1]


def tensor(shape, elem: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def reassociation(groups) -> str:
    return "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"


def to_rank3(e: Emitter, name: str, shape, elem: str) -> tuple[str, list[int]]:
    """View [a.., x, y] as [prod(a..), x, y] (rank 1 and 2 get leading unit dims)."""
    shape = list(shape)
    n = len(shape)
    if n == 3:
        return name, shape
    if n < 3:
        new = [1] * (3 - n) + shape
        groups = [list(range(0, 4 - n))] + [[i] for i in range(4 - n, 3)]
        v = e.op(f"tensor.expand_shape {name} {reassociation(groups)} output_shape "
                 f"[{', '.join(map(str, new))}] : {tensor(shape, elem)} into {tensor(new, elem)}")
        return v, new
    lead = 1
    for d in shape[:-2]:
        lead *= d
    new = [lead] + shape[-2:]
    groups = [list(range(n - 2)), [n - 2], [n - 1]]
    v = e.op(f"tensor.collapse_shape {name} {reassociation(groups)} : "
             f"{tensor(shape, elem)} into {tensor(new, elem)}")
    return v, new


def from_rank3(e: Emitter, name: str, shape3, shape, elem: str) -> str:
    """Inverse of to_rank3."""
    shape, n = list(shape), len(shape)
    if n == 3:
        return name
    if n < 3:
        groups = [list(range(0, 4 - n))] + [[i] for i in range(4 - n, 3)]
        return e.op(f"tensor.collapse_shape {name} {reassociation(groups)} : "
                    f"{tensor(shape3, elem)} into {tensor(shape, elem)}")
    groups = [list(range(n - 2)), [n - 2], [n - 1]]
    return e.op(f"tensor.expand_shape {name} {reassociation(groups)} output_shape "
                f"[{', '.join(map(str, shape))}] : {tensor(shape3, elem)} into {tensor(shape, elem)}")


def function(name: str, args, result_type: str, e: Emitter, returned: str) -> str:
    params = ", ".join(f"%arg{i}: {t}" for i, t in enumerate(args))
    return (f"func.func @{name}({params}) -> {result_type} {{\n{e.body()}\n"
            f"  return {returned} : {result_type}\n}}\n")


def with_location(text: str, loc: str) -> str:
    """Give every op of the kernel text the location `loc` (the replaced op's), so
    diagnostics and debug info point at the user's source, not at kernel text."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if (not stripped or stripped.startswith(("^bb", "func.func", "} else {"))
                or stripped.endswith("{")):
            out.append(line)
        else:  # one-line ops, yields, and the `}` / `} -> type` closing a region op
            out.append(f"{line} {loc}")
    return "\n".join(out) + "\n"


def inline_kernel(target: ir.Operation, text: str) -> None:
    """Replace the single-result op `target` by the body of the function in `text`."""
    target = target.operation if hasattr(target, "operation") else target
    text = with_location(text, str(target.location))
    module = ir.Module.parse(text, context=target.context)
    func = module.body.operations[0]
    block = func.regions[0].blocks[0]
    ops = list(block.operations)
    returned = ops[-1].operands[0]
    for body_op in ops[:-1]:
        body_op.operation.move_before(target)
    for arg, operand in zip(block.arguments, target.operands):
        arg.replace_all_uses_with(operand)
    target.results[0].replace_all_uses_with(returned)
    target.erase()
