"""Textual pass pipelines that mix upstream MLIR passes and project passes.

`builtin.module(attn-fold-transposes, canonicalize, func.func(cse))` is
parsed here: project passes (found in the registry) become Python-defined
passes added with `PassManager.add(callable)`, everything else is handed to
MLIR's own pipeline parser, so both kinds run in one PassManager and
`--mlir-print-ir-after-all`, `--mlir-timing` and verification see them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir, passmanager

from . import passes as registry
from .diagnostics import AttnError, Diagnostic, location_parts


@dataclass
class Element:
    name: str
    options: str = ""  # the text between `{` and `}`
    children: list["Element"] | None = None  # for anchors like `func.func(...)`

    def text(self) -> str:
        out = self.name
        if self.options or (self.children is None and False):
            out += "{" + self.options + "}"
        if self.children is not None:
            out += "(" + ",".join(c.text() for c in self.children) + ")"
        return out


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, start, quote = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quote = not quote
        elif quote:
            continue
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                raise AttnError(f"unbalanced ')' in pass pipeline '{text}'", usage=True)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quote:
        raise AttnError(f"unbalanced brackets in pass pipeline '{text}'", usage=True)
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_elements(text: str) -> list[Element]:
    """Parse a comma-separated list of pipeline elements."""
    elements = []
    for part in _split_top(text):
        name_end = len(part)
        for i, ch in enumerate(part):
            if ch in "{(":
                name_end = i
                break
        name, rest = part[:name_end].strip(), part[name_end:].strip()
        options, children = "", None
        if rest.startswith("{"):
            close = _matching(rest, 0)
            options, rest = rest[1:close].strip(), rest[close + 1:].strip()
        if rest.startswith("("):
            close = _matching(rest, 0)
            children, rest = parse_elements(rest[1:close]), rest[close + 1:].strip()
        if rest or not name:
            raise AttnError(f"cannot parse pass pipeline element '{part}'", usage=True)
        elements.append(Element(name, options, children))
    return elements


def _matching(text: str, start: int) -> int:
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack, quote = [], False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == '"':
            quote = not quote
        elif quote:
            continue
        elif ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return i
    raise AttnError(f"unbalanced brackets in '{text}'", usage=True)


def parse_options(text: str) -> dict[str, str]:
    """`a=1 b=x,y c` -> {'a': '1', 'b': 'x,y', 'c': ''}."""
    out = {}
    for item in _split_top(text, " "):
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip().strip('"')
    return out


def make_pass(name: str, options: str | dict = "") -> registry.Pass | None:
    """Instantiate a registered project pass from its name and option text."""
    cls = registry.lookup(name)
    if cls is None:
        return None
    raw = parse_options(options) if isinstance(options, str) else dict(options)
    known = {o.name: o for o in cls.options}
    values = {}
    for key, text in raw.items():
        opt = known.get(key) or known.get(key.replace("_", "-"))
        if opt is None:
            choices = ", ".join(sorted(known)) or "none"
            raise AttnError(f"pass '{name}' has no option '{key}' (options: {choices})", usage=True)
        values[opt.name] = opt.parse(text, name) if isinstance(text, str) else text
    return cls(**values)


class Pipeline:
    """A list of pipeline items: upstream pass texts and project Pass objects."""

    def __init__(self, items: list):
        self.items = items

    @classmethod
    def parse(cls, text: str) -> "Pipeline":
        text = text.strip()
        elements = parse_elements(text)
        if len(elements) == 1 and elements[0].name == "builtin.module" and elements[0].children is not None:
            elements = elements[0].children
        return cls(_items_from(elements))

    def __str__(self) -> str:
        return "builtin.module(" + ",".join(str(i) for i in self.flat()) + ")"

    def flat(self) -> list:
        out = []
        for item in self.items:
            if isinstance(item, registry.Pass) and item.is_pipeline:
                out.extend(Pipeline(item.expand()).flat())
            else:
                out.append(item)
        return out

    def build(self, context: ir.Context | None = None) -> passmanager.PassManager:
        pm = passmanager.PassManager("builtin.module", context=context)
        upstream: list[str] = []

        def flush():
            if upstream:
                text = ",".join(upstream)
                try:
                    pm.add(text)
                except ValueError as e:
                    raise _pipeline_error(text, e) from None
                upstream.clear()

        for item in self.flat():
            if isinstance(item, str):
                upstream.append(item)
            else:
                flush()
                pm.add(_runner(item), name=item.name, argument=item.name,
                       description=item.summary)
        flush()
        return pm


def _items_from(elements: list[Element]) -> list:
    items = []
    for el in elements:
        project = registry.lookup(el.name)
        if project is not None:
            if el.children is not None:
                raise AttnError(f"'{el.name}' is a pass, not an op anchor", usage=True)
            items.append(make_pass(el.name, el.options))
        elif el.children is not None and _contains_project_pass(el.children):
            # A project pass nested under an anchor (e.g. func.func(...)) runs on
            # each op of that kind from a module-level Python pass.
            items.append(_NestedProjectPasses(el.name, _items_from(el.children)))
        else:
            items.append(el.text())
    return items


def _contains_project_pass(elements: list[Element]) -> bool:
    return any(registry.lookup(e.name) is not None or
               (e.children is not None and _contains_project_pass(e.children)) for e in elements)


class _NestedProjectPasses(registry.Pass):
    """Runs a nested list of passes on every op named `anchor`."""

    summary = "nested pipeline"

    def __init__(self, anchor: str, items: list):
        super().__init__()
        self.name = anchor
        self.anchor, self.items = anchor, items

    def run(self, op: ir.Operation) -> None:
        targets = []

        def collect(child):
            if child.name == self.anchor:
                targets.append(child)
                return ir.WalkResult.SKIP
            return ir.WalkResult.ADVANCE

        op.walk(collect, ir.WalkOrder.PRE_ORDER)
        for target in targets:
            for item in self.items:
                if isinstance(item, str):
                    pm = passmanager.PassManager(self.anchor)
                    pm.add(item)
                    pm.run(target)
                else:
                    item.run(target)

    def __str__(self) -> str:
        return f"{self.anchor}(" + ",".join(str(i) for i in self.items) + ")"


def _pipeline_error(text: str, err: Exception) -> AttnError:
    message = str(err).strip().splitlines()
    detail = "; ".join(line.strip() for line in message if line.strip()) or "invalid pipeline"
    detail = detail.replace("MLIR Textual PassPipeline Parser:", "").strip()
    return AttnError(f"invalid pass pipeline '{text}': {detail}", usage=True)


def _runner(p: registry.Pass):
    """Wrap a project pass as the callable PassManager.add expects."""

    def run(op, external_pass):
        try:
            p.run(op)
        except AttnError as e:
            for d in e.diagnostics:
                _emit(d, op)
            external_pass.signal_pass_failure()
        except ir.MLIRError as e:
            for d in e.error_diagnostics:
                d.location.emit_error(d.message)
            external_pass.signal_pass_failure()
        except Exception as e:  # a bug in a pass must not become a traceback for users
            op.location.emit_error(f"internal error in pass '{p.name}': {type(e).__name__}: {e}")
            external_pass.signal_pass_failure()

    run.__name__ = p.name.replace("-", "_")
    return run


def _emit(d: Diagnostic, op: ir.Operation) -> None:
    if d.file is not None and d.line:
        loc = ir.Location.file(d.file, d.line, d.col or 0, context=op.context)
    else:
        loc = op.location
    loc.emit_error(d.message)


def run_pipeline(module: ir.Module | ir.Operation, pipeline, *, print_ir_before_all=False,
                 print_ir_after_all=False, timing=False, print_generic=False,
                 verify_each=True) -> None:
    """Run `pipeline` (text, Pipeline, or list of passes/texts) on `module` in place."""
    if isinstance(pipeline, str):
        pipeline = Pipeline.parse(pipeline)
    elif isinstance(pipeline, (list, tuple)):
        pipeline = Pipeline([make_pass(p) or p if isinstance(p, str) else p for p in pipeline])
    op = module.operation if isinstance(module, ir.Module) else module
    pm = pipeline.build(op.context)
    pm.enable_verifier(verify_each)
    if print_ir_before_all or print_ir_after_all:
        pm.enable_ir_printing(print_before_all=print_ir_before_all,
                              print_after_all=print_ir_after_all,
                              print_generic_op_form=print_generic)
    if timing:
        pm.enable_timing()
    from .diagnostics import from_mlir_error

    try:
        pm.run(op)
    except ir.MLIRError as e:
        raise from_mlir_error(e) from None


__all__ = ["Pipeline", "run_pipeline", "make_pass", "parse_elements"]
