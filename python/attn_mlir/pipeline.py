"""Textual pass pipelines that mix upstream MLIR passes and project passes.

`builtin.module(attn-fold-transposes, canonicalize, func.func(cse))` is
parsed here: project passes (found in the registry) become Python-defined
passes added with `PassManager.add(callable)`, everything else is handed to
MLIR's own pipeline parser, so both kinds run in one PassManager and
`--mlir-print-ir-after-all`, `--mlir-timing` and verification see them all.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass

from mlir import ir, passmanager

from . import passes as registry
from .diagnostics import AttnError, Diagnostic


@dataclass
class Element:
    name: str
    options: str = ""  # the text between `{` and `}`
    children: list["Element"] | None = None  # for anchors like `func.func(...)`

    def text(self) -> str:
        out = self.name
        if self.options:
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

    def __init__(self, items: list, source: str | None = None):
        self.items = items
        self.source = source  # the text it was parsed from, for error messages

    @classmethod
    def parse(cls, text: str) -> "Pipeline":
        text = text.strip()
        elements = parse_elements(text)
        if len(elements) == 1 and elements[0].name == "builtin.module" and elements[0].children is not None:
            elements = elements[0].children
        return cls(_items_from(elements), text)

    @classmethod
    def of(cls, items) -> "Pipeline":
        """A pipeline from a list of Pass objects, Pipelines and pipeline texts."""
        out, sources = [], []
        for item in items:
            if isinstance(item, str):
                item = cls.parse(item)
            if isinstance(item, Pipeline):
                out.extend(item.items)
                sources.append(item.source or str(item))
            elif isinstance(item, registry.Pass):
                out.append(item)
                sources.append(str(item))
            else:
                raise AttnError(f"not a pass or pipeline: {item!r}", usage=True)
        return cls(out, ",".join(sources))

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
                with _captured_stderr() as captured:
                    try:
                        pm.add(text)
                        error = None
                    except ValueError as e:
                        error = e
                if error is not None:
                    raise _pipeline_error(error, captured.text, self.source or text) from None
                upstream.clear()

        previous = None
        for item in self.flat():
            if isinstance(item, str) and _pass_name(item) in ABORTS_ON_I1 and \
                    getattr(previous, "name", None) != I1_GUARD:
                # Those passes abort the process on 1-bit memory accesses: report them first.
                flush()
                guard = make_pass(I1_GUARD)
                pm.add(_runner(guard), name=guard.name, argument=guard.name,
                       description=guard.summary)
            previous = item
            if isinstance(item, str):
                upstream.append(item)
            else:
                flush()
                pm.add(_runner(item), name=item.name, argument=item.name,
                       description=item.summary)
        flush()
        return pm


# Upstream passes that abort (MLIR 22) on i1 memref loads and stores, and the pass
# that is run before them to report such accesses as errors instead.
ABORTS_ON_I1 = frozenset({"finalize-memref-to-llvm", "convert-to-llvm", "convert-vector-to-llvm"})
I1_GUARD = "attn-reject-i1-memrefs"


def _pass_name(text: str) -> str:
    return re.split(r"[{(]", text, maxsplit=1)[0].strip()


def _items_from(elements: list[Element], anchor: str | None = None) -> list:
    items = []
    for el in elements:
        project = registry.lookup(el.name)
        if project is not None:
            if el.children is not None:
                raise AttnError(f"'{el.name}' is a pass, not an op anchor", usage=True)
            if anchor is not None and project.is_pipeline:
                raise AttnError(f"'{el.name}' is a pipeline on modules; it cannot be nested "
                                f"under '{anchor}'", usage=True)
            items.append(make_pass(el.name, el.options))
        elif el.children is not None and _contains_project_pass(el.children):
            # A project pass nested under an anchor (e.g. func.func(...)) runs on
            # each op of that kind from a module-level Python pass.
            items.append(_NestedProjectPasses(el.name, _items_from(el.children, el.name)))
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
            for item in Pipeline(self.items).flat():
                if isinstance(item, str):
                    pm = passmanager.PassManager(self.anchor)
                    with _captured_stderr() as captured:
                        try:
                            pm.add(item)
                            error = None
                        except ValueError as e:
                            error = e
                    if error is not None:
                        raise _pipeline_error(error, captured.text, f"{self.anchor}({item})")
                    pm.run(target)
                else:
                    item.run(target)

    def __str__(self) -> str:
        return f"{self.anchor}(" + ",".join(str(i) for i in self.items) + ")"


class _Captured:
    text = ""


@contextlib.contextmanager
def _captured_stderr():
    """Collect what LLVM writes straight to file descriptor 2 (option parse errors)."""
    captured = _Captured()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to capture
        yield captured
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.text = tmp.read().decode("utf-8", "replace").strip()


_UNKNOWN_PASS = re.compile(r"'([^']+)' does not refer to a registered pass or pass pipeline")
_NO_OPTION = re.compile(r"no such option (\S+)")
_FAILED_ADD = re.compile(r"failed to add `([^`]+)` with options `([^`]*)`")
_PARSER_ERROR = re.compile(r"Parser:\d+:\d+: error: (.*)")


def _pipeline_error(err: Exception, captured: str, source: str) -> AttnError:
    """One clean line for MLIR's multi-line pipeline parser errors."""
    message = str(err)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    where = f"in pass pipeline '{source}'"
    detail = captured.splitlines()[0].lstrip(": ").rstrip("!") if captured else ""
    added = _FAILED_ADD.search(message)
    if m := _UNKNOWN_PASS.search(message):
        text = f"unknown pass '{m[1]}' {where}"
    elif added and (m := _NO_OPTION.search(message + captured)):
        text = f"pass '{added[1]}' has no option '{m[1]}' {where}"
    elif added and (detail or lines[0].startswith("failed to add")):
        text = (f"invalid options '{added[2]}' for pass '{added[1]}' {where}: "
                f"{detail or 'invalid value'}")
    elif m := _PARSER_ERROR.search(message):
        text = f"invalid pass pipeline '{source}': {m[1]}"
    else:
        text = f"invalid pass pipeline '{source}': {lines[0] if lines else 'cannot build it'}"
    return AttnError(text, usage=True)


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
    elif isinstance(pipeline, registry.Pass):
        pipeline = Pipeline.of([pipeline])
    elif isinstance(pipeline, (list, tuple)):
        pipeline = Pipeline.of(pipeline)
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
