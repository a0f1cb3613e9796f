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
import traceback
from dataclasses import dataclass

from mlir import ir, passmanager

from . import passes as registry
from . import check_rewrites
from .check_rewrites import checked
from .diagnostics import AttnError, Diagnostic, stage, traceback_wanted


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


MAX_DEPTH = 64  # nested anchors deeper than this are rejected, not recursed into


def _error(text: str, pos: int, message: str) -> AttnError:
    return AttnError(f"invalid pass pipeline '{text}': {message} (at column {pos + 1})", usage=True)


def _skip_braces(text: str, start: int, whole: str, offset: int) -> int:
    """Index just past the `}` that closes the `{` at `start` (quotes and nesting respected)."""
    depth, quote = 0, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise _error(whole, offset + start, "missing closing '}' while processing pass options")


def parse_elements(text: str, *, whole: str | None = None, offset: int = 0) -> list[Element]:
    """Parse a comma-separated list of pipeline elements with upstream's grammar.

    `element ::= name ('{' options '}')? | name '(' elements ')'`. As in MLIR's
    TextualPipeline: every element has a non-empty name (`a,,b`, `a,` and `()` are
    errors), options are not followed by a nested pipeline, and after a nested
    pipeline only `,` or the end may come. Parsed without recursion (deep nesting is
    an error past MAX_DEPTH, never a RecursionError).
    """
    whole = text if whole is None else whole
    root: list[Element] = []
    stack = [root]
    pos, n = 0, len(text)
    if not text.strip():
        return root
    while True:
        stop = pos
        while stop < n and text[stop] not in ",{()}":
            stop += 1
        name = text[pos:stop].strip()
        if stop < n and text[stop] == "}":
            raise _error(whole, offset + stop, "unbalanced '}'")
        if not name:
            raise _error(whole, offset + pos, "'' does not refer to a registered pass or pass "
                         "pipeline (an empty element)")
        if any(ch.isspace() for ch in name):
            raise _error(whole, offset + pos, f"'{name}' is not a pass name (missing ','?)")
        element = Element(name)
        stack[-1].append(element)
        pos = stop
        if pos < n and text[pos] == "{":
            close = _skip_braces(text, pos, whole, offset)
            element.options = text[pos + 1:close - 1].strip()
            pos = close
        elif pos < n and text[pos] == "(":
            if len(stack) > MAX_DEPTH:
                raise _error(whole, offset + pos, f"pass pipeline nested more than {MAX_DEPTH} "
                             "levels deep")
            element.children = []
            stack.append(element.children)
            pos += 1
            continue
        while pos < n and text[pos].isspace():
            pos += 1
        while pos < n and text[pos] == ")":
            if len(stack) == 1:
                raise _error(whole, offset + pos, "encountered extra closing ')' creating "
                             "unbalanced parentheses")
            stack.pop()
            pos += 1
            while pos < n and text[pos].isspace():
                pos += 1
        if pos >= n:
            break
        if text[pos] != ",":
            raise _error(whole, offset + pos, "expected ',' after parsing pipeline element")
        pos += 1
    if len(stack) > 1:
        raise _error(whole, offset + n, "encountered unbalanced parentheses (missing ')')")
    return root


# The ops a top-level pipeline may be anchored on: attn-mlir runs on builtin.module.
TOP_ANCHORS = ("builtin.module", "any")


def parse_anchored(text: str) -> list[Element]:
    """`builtin.module(...)` (or `any(...)`): what mlir-opt's --pass-pipeline accepts.

    A bare list (`canonicalize`), an empty text, or an anchor that is not the
    module the tools run on (`builtin.modul(...)`, `func.func(...)`) is an error,
    as in mlir-opt.
    """
    stripped = text.strip()
    open_at = stripped.find("(")
    if open_at <= 0 or not stripped.endswith(")"):
        raise AttnError(f"invalid pass pipeline '{text}': expected pass pipeline to be wrapped "
                        "with the anchor operation type, e.g. 'builtin.module(...)'", usage=True)
    anchor = stripped[:open_at].strip()
    if anchor not in TOP_ANCHORS:
        raise AttnError(f"invalid pass pipeline '{text}': can't run '{anchor}' pass manager on "
                        "'builtin.module' op", usage=True)
    offset = text.index(stripped) + open_at + 1
    inner = stripped[open_at + 1:-1]
    return parse_elements(inner, whole=text, offset=offset)


def parse_options(text: str) -> dict[str, str]:
    """`a=1 b=x,y c` -> {'a': '1', 'b': 'x,y', 'c': ''}; an option given twice is an error."""
    out: dict[str, str] = {}
    for item in _split_options(text):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not key:
            raise AttnError(f"invalid pass options '{text}': '{item}' has no option name",
                            usage=True)
        if key in out:
            raise AttnError(f"option '{key}' is given more than once in '{text}'", usage=True)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[key] = value if eq else None
    return out


def _split_options(text: str) -> list[str]:
    """Split at spaces outside quotes and brackets."""
    parts, depth, start, quote = [], 0, 0, False
    for i, ch in enumerate(text):
        if quote:
            quote = ch != '"'
        elif ch == '"':
            quote = True
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch.isspace() and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if quote or depth != 0:
        raise AttnError(f"invalid pass options '{text}': unbalanced quotes or brackets", usage=True)
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


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
        values[opt.name] = opt.parse(text, name) if text is None or isinstance(text, str) \
            else opt.check(text, name)
    return cls(**values)


class Pipeline:
    """A list of pipeline items: upstream pass texts and project Pass objects."""

    def __init__(self, items: list, source: str | None = None):
        self.items = items
        self.source = source  # the text it was parsed from, for error messages

    @classmethod
    def parse(cls, text: str, *, anchored: bool = False) -> "Pipeline":
        """Parse a textual pipeline.

        `anchored=True` is mlir-opt's `--pass-pipeline`: the text must be
        `builtin.module(...)`. Otherwise (the Python API) a bare list such as
        `canonicalize,cse` is accepted too; the element grammar is upstream's either way.
        """
        if anchored:
            elements = parse_anchored(text)
        else:
            elements = parse_elements(text.strip())
            if len(elements) == 1 and elements[0].name in TOP_ANCHORS \
                    and elements[0].children is not None:
                elements = elements[0].children
        return cls(_items_from(elements), text.strip())

    def validate(self) -> "Pipeline":
        """Build the pass manager once in a scratch context: every upstream pass name and
        option is checked before any input is read (as mlir-opt does)."""
        self.build(ir.Context())
        return self

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

    def runs(self, name: str) -> bool:
        """Whether the pass `name` is among this pipeline's passes (project pipelines
        such as attn-to-llvm expanded)."""
        return any(_pass_name(str(item)) == name for item in self.flat())

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


def as_pipeline(pipeline) -> "Pipeline":
    """A Pipeline from what `run_pipeline` takes: text, a Pipeline, a pass or a list."""
    if isinstance(pipeline, str):
        return Pipeline.parse(pipeline)
    if isinstance(pipeline, registry.Pass):
        return Pipeline.of([pipeline])
    if isinstance(pipeline, (list, tuple)):
        return Pipeline.of(pipeline)
    return pipeline


def _pass_name(text: str) -> str:
    return re.split(r"[{(]", text, maxsplit=1)[0].strip()


def _items_from(elements: list[Element], anchor: str | None = None) -> list:
    items = []
    for el in elements:
        if el.children is not None:
            _check_anchor(el)
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


def _check_anchor(el: Element) -> None:
    """A nested pipeline runs on ops of one kind: a typo'd op name would silently run nothing."""
    if el.name == "any":
        return
    if registry.lookup(el.name) is not None:
        raise AttnError(f"'{el.name}' is a pass, not an op anchor", usage=True)
    if not el.children:
        raise AttnError(f"nested pass pipeline '{el.text()}' is empty", usage=True)
    with ir.Context() as ctx:
        known = ctx.is_registered_operation(el.name)
    if not known:
        raise AttnError(f"'{el.name}' in pass pipeline element '{el.text()}' is neither a pass "
                        "nor a registered operation to anchor a nested pipeline on", usage=True)


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
        stage(f"running pass '{p.name}'")
        try:
            checked(p, op)
            stage(f"running the upstream passes after '{p.name}'")
        except AttnError as e:
            for d in e.diagnostics:
                _emit(d, op)
            external_pass.signal_pass_failure()
        except ir.MLIRError as e:
            for d in e.error_diagnostics:
                d.location.emit_error(d.message)
            external_pass.signal_pass_failure()
        except Exception as e:  # a bug in a pass must not become a traceback for users
            if traceback_wanted():
                traceback.print_exc()
            op.location.emit_error(f"internal error in pass '{p.name}': {type(e).__name__}: {e}"
                                   + ("" if traceback_wanted() else
                                      " (set ATTN_MLIR_TRACEBACK=1 for details)"))
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
    pipeline = as_pipeline(pipeline)
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

    stage("running the pass pipeline")
    env_checker = check_rewrites.from_environment() if check_rewrites.active() is None else None
    try:
        with check_rewrites.checking(env_checker) if env_checker else contextlib.nullcontext():
            pm.run(op)
    except ir.MLIRError as e:
        raise from_mlir_error(e) from None


__all__ = ["Pipeline", "run_pipeline", "make_pass", "parse_elements"]
