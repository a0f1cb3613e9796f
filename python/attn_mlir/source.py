"""Reading `.mlir` source: whole files, stdin, and `--split-input-file` chunks.

Locations in the parsed IR and in diagnostics name the user's file and the
line in that file, also for chunks of a split file.
"""

from __future__ import annotations

import bisect
import os
import re
import tempfile
from dataclasses import dataclass

from mlir import ir

from . import static_checks, weights
from .diagnostics import AttnError, Diagnostic, error_at, from_mlir_error, parsing_file

SPLIT_MARKER = re.compile(r"^// -----\s*$", re.MULTILINE)


@dataclass
class Chunk:
    text: str
    first_line: int  # 1-based line of the chunk's first line in the file


def split_input(text: str, split: bool) -> list[Chunk]:
    """Split on `// -----` lines as mlir-opt does; keep each chunk's line offset."""
    if not split:
        return [Chunk(text, 1)]
    chunks, start, line = [], 0, 1
    for match in SPLIT_MARKER.finditer(text):
        chunks.append(Chunk(text[start:match.start()], line))
        line += text.count("\n", start, match.end()) + 1
        start = match.end() + 1
    chunks.append(Chunk(text[start:], line))
    return chunks


def read_text(path: str) -> str:
    if path == "-":
        import sys

        return _decode(sys.stdin.buffer.read(), "<stdin>")
    try:
        with open(path, "rb") as f:
            return _decode(f.read(), path)
    except FileNotFoundError:
        raise AttnError(f"could not open input file '{path}': no such file") from None
    except IsADirectoryError:
        raise AttnError(f"could not open input file '{path}': is a directory") from None
    except (OSError, UnicodeDecodeError) as e:
        raise AttnError(f"could not read input file '{path}': {e}") from None


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text, else a located error at the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise AttnError([Diagnostic("error", f"the input is not UTF-8 text (byte 0x{data[e.start]:02x})",
                                    name, line, col)]) from None


# The MLIR lexer rejects a newline inside a string literal, but when the string runs to
# the end of the file the parser then asserts (a truncated `dialect_resources` blob).
# One regex pass finds every string literal and comment: a literal's body is a run of
# one character class (fast in `re`, also over the hundreds of MB of a hex weight).
_LITERAL_OR_COMMENT = re.compile(r'//[^\n]*|"[^"\\\n]*(?:\\.[^"\\\n]*)*(")?')
# String literals longer than this (dense hex weights, resource blobs) are left out of
# the text the other checks scan: none of them looks inside a string.
BIG_LITERAL = 1024


@dataclass
class _Skeleton:
    """The text with the bodies of big string literals cut out, and where the cuts are."""
    text: str
    cuts: list[int]      # offsets in `text` right after each cut (its opening quote)
    removed: list[int]   # characters removed up to and including each cut

    def original(self, at: int) -> int:
        """The offset in the full text of offset `at` of the skeleton."""
        i = bisect.bisect_right(self.cuts, at)
        return at + (self.removed[i - 1] if i else 0)


def _scan_literals(text: str) -> tuple[int, _Skeleton]:
    """(offset of an unterminated string literal's line end or -1, the skeleton)."""
    pieces, cuts, removed = [], [], []
    kept, total = 0, 0
    for m in _LITERAL_OR_COMMENT.finditer(text):
        if m.group(0).startswith("//"):
            continue
        if m.group(1) is None:
            line_end = text.find("\n", m.end())
            return (len(text) if line_end < 0 else line_end), _Skeleton(text, [], [])
        if m.end() - m.start() - 2 > BIG_LITERAL:
            pieces.append(text[kept:m.start() + 1])
            cuts.append(m.start() + 1 - total)
            total += m.end() - 1 - (m.start() + 1)
            removed.append(total)
            kept = m.end() - 1
    pieces.append(text[kept:])
    return -1, _Skeleton("".join(pieces) if cuts else text, cuts, removed)


# `permutation = [1, 0.5]` or `permutation = /1, 0]`: the dense-array parser reports an
# error, then the op's parser stores a null attribute, which asserts.
_INT_ARRAY = re.compile(r"\b(?:permutation|dimensions|inner_dims_pos|outer_dims_perm|"
                        r"static_sizes|static_offsets|static_strides|static_low|static_high)"
                        r"\s*=\s*")
_INT = re.compile(r"-?\d+")


def _position(text: str, at: int) -> tuple[int, int]:
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def _non_integer_array(text: str) -> tuple[int, str] | None:
    """(offset, message) of a malformed dense i64 array attribute in custom syntax."""
    for m in _INT_ARRAY.finditer(text):
        at = m.end()
        if _in_comment(text, m.start()) or text.startswith("array<", at):
            continue  # the generic form's `array<i64: ...>` has its own, safe parser
        if not text.startswith("[", at):
            return at, "expected '['"
        close = text.find("]", at)
        line_end = text.find("\n", at)
        if close < 0 or (0 <= line_end < close):
            return at, "expected ']' to close the integer list"
        if not text[at + 1:close].strip():
            continue  # `[]`
        offset = at + 1
        for element in text[at + 1:close].split(","):
            stripped = element.strip()
            where = offset + (element.index(stripped) if stripped else 0)
            if not stripped:
                return where, "expected integer value, got an empty element"
            if not _INT.fullmatch(stripped):
                return where, f"expected integer value, got '{stripped}'"
            if not -2**63 <= int(stripped) < 2**63:
                return where, f"integer value too large: {stripped}"
            offset += len(element) + 1
    return None


# `iterator_types = [0.5, "parallel"]`: the custom parsers of linalg.generic (and
# vector.contract) cast each element to a string attribute unchecked, which asserts.
# The generic op form (`"linalg.generic"(...) <{iterator_types = [#linalg...]}>`)
# parses attributes, safely.
_ITERATORS = re.compile(r"\biterator_types\s*=\s*\[")
_STRING = re.compile(r'"[^"]*"')
_OP_NAME = re.compile(r'("?)\b(?:linalg\.generic|vector\.contract)\b')


def _non_string_iterators(text: str) -> tuple[int, str] | None:
    """(offset, message) of a custom-form `iterator_types` element not a string."""
    names = [(m.start(), bool(m.group(1))) for m in _OP_NAME.finditer(text)]
    starts = [start for start, _ in names]
    for m in _ITERATORS.finditer(text):
        if _in_comment(text, m.start()):
            continue
        # The op this attribute belongs to: the last op name before it.
        last = bisect.bisect_right(starts, m.start()) - 1
        if last >= 0 and names[last][1]:
            continue  # the generic op form
        at = m.end()
        close = text.find("]", at)
        if close < 0:
            return at, "expected ']' to close the iterator types"
        if not text[at:close].strip():
            continue
        offset = at
        for element in text[at:close].split(","):
            stripped = element.strip()
            if not _STRING.fullmatch(stripped):
                return (offset + (element.index(stripped) if stripped else 0),
                        f"expected an iterator type string, got '{stripped}'")
            offset += len(element) + 1
    return None


# Integers in affine maps and sets: the linalg verifier evaluates each indexing map at
# the loop bounds in 64-bit arithmetic, and an overflow there (`d0 + 9223372036854775806`)
# asserts on a cast. Indices of that size are never meant: they are refused at 2**32.
_AFFINE = re.compile(r"\baffine_(?:map|set)<")
_AFFINE_INT = re.compile(r"(?<![\w.])\d+")
AFFINE_INT_LIMIT = 2**32


def _huge_affine_constant(text: str) -> tuple[int, str] | None:
    """(offset, message) of an integer >= 2**32 in an affine map or set."""
    for m in _AFFINE.finditer(text):
        if _in_comment(text, m.start()):
            continue
        depth, end = 0, m.end()
        while end < len(text):
            c = text[end]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == ">" and depth <= 0 and text[end - 1] != "-":
                break
            elif c == "\n":
                break
            end += 1
        for number in _AFFINE_INT.finditer(text, m.end(), end):
            if int(number.group()) >= AFFINE_INT_LIMIT:
                return (number.start(),
                        f"affine constant {number.group()} is too large (at most "
                        f"{AFFINE_INT_LIMIT - 1}: MLIR evaluates indexing maps in 64-bit "
                        f"arithmetic)")
    return None


# Reassociation lists of expand_shape/collapse_shape: the verifiers turn them into
# affine maps first, and a negative index or INT64_MAX (whose dim count overflows)
# asserts there. Real indices are small: anything outside [0, 2**31) is refused.
_REASSOCIATION = re.compile(r"\b(?:tensor|memref)\.(?:expand|collapse)_shape\s+%[^\s\[]+\s*\[|"
                            r"\breassociation\s*=\s*\[")
_SIGNED_INT = re.compile(r"(?<![\w.])-?\d+(?![\w.])")
REASSOCIATION_LIMIT = 2**31


def _bad_reassociation(text: str) -> tuple[int, str] | None:
    """(offset, message) of a reassociation index out of [0, 2**31)."""
    for m in _REASSOCIATION.finditer(text):
        if _in_comment(text, m.start()):
            continue
        depth, end = 1, m.end()
        while end < len(text) and depth:
            depth += {"[": 1, "]": -1}.get(text[end], 0)
            if text[end] == "\n":
                break
            end += 1
        for number in _SIGNED_INT.finditer(text, m.end(), end):
            if not 0 <= int(number.group()) < REASSOCIATION_LIMIT:
                return (number.start(),
                        f"reassociation index {number.group()} is out of range (0 to "
                        f"{REASSOCIATION_LIMIT - 1})")
    return None


# tensor.concat's verifier reads the operand type's size at `dim` before checking
# it: a negative dim asserts (one past the rank gets the verifier's own error).
_CONCAT_DIM = re.compile(r"\btensor\.concat\s+dim\s*\(\s*(-?(?:0x[0-9a-fA-F]+|\d+))|"
                         r'"tensor\.concat"[^\n]*?[{,]\s*dim\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))')


def _negative_concat_dim(text: str) -> tuple[int, str] | None:
    """(offset, message) of a tensor.concat whose dim is negative (as an i64)."""
    for m in _CONCAT_DIM.finditer(text):
        if _in_comment(text, m.start()):
            continue
        group = 1 if m.group(1) is not None else 2
        literal = m.group(group)
        value = int(literal, 0) if "0x" in literal else int(literal)
        if value < 0 or value >= 2**63:  # hex beyond INT64_MAX is a negative i64
            return m.start(group), f"'tensor.concat' op concatenation dim {literal} is negative"
    return None


def _in_comment(text: str, at: int) -> bool:
    line_start = text.rfind("\n", 0, at) + 1
    return "//" in text[line_start:at]


def precheck(text: str, filename: str, first_line: int = 1) -> None:
    """Inputs on which MLIR's parser would abort the process: located errors instead.
    The checks read the text with its big string literals cut out (a 400 MB module of
    hex weights is checked in about a second)."""
    unterminated, skeleton = _scan_literals(text)
    if unterminated >= 0:
        line, col = _position(text, unterminated)
        raise AttnError([Diagnostic("error", "expected '\"' in string literal", filename,
                                    line + first_line - 1, col)])
    for check in (_non_integer_array, _non_string_iterators, _huge_affine_constant,
                  _bad_reassociation, _negative_concat_dim):
        if found := check(skeleton.text):
            line, col = _position(text, skeleton.original(found[0]))
            raise AttnError([Diagnostic("error", found[1], filename, line + first_line - 1, col)])


def parse_module(text: str, filename: str = "<stdin>", first_line: int = 1,
                 context: ir.Context | None = None, weights_files=None) -> ir.Module:
    """Parse MLIR text into a module, with locations `filename:line:col`.

    Text without a top-level `module` is wrapped in one, as mlir-opt does.
    `first_line` shifts line numbers so a chunk of a split file reports the
    lines of the whole file. `weights_files` (paths, relative to the working
    folder) replaces the files the module's `attn.weights` names: one module
    read with other files that hold the same names, such as every layer of a
    model from one layer's module.
    """
    if context is None:
        context = _current_context()
    precheck(text, filename, first_line)
    # The parser behind Module.parseFile wraps implicit modules and names
    # locations after the file it reads: give it a file whose lines line up.
    with tempfile.TemporaryDirectory(prefix="attn-mlir-") as tmp:
        path = os.path.join(tmp, os.path.basename(filename) or "input.mlir")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n" * (first_line - 1) + text)
        parsing_file(path, filename)
        try:
            module = ir.Module.parseFile(path, context=context)
        except ir.MLIRError as e:
            raise from_mlir_error(e, {path: filename}) from None
    if filename != path:
        _rename_locations(module, path, filename)
    if errors := static_checks.check(module):
        raise AttnError(errors)
    _resolve_weights(module, filename, weights_files)
    return module


def _resolve_weights(module: ir.Module, filename: str, replacement=None) -> None:
    """Weights files named by the module are found next to its `.mlir` file;
    `replacement` files, from the working folder."""
    base = os.path.dirname(os.path.abspath(filename)) if os.path.isfile(filename) else os.getcwd()
    if replacement is not None:
        if isinstance(replacement, (str, os.PathLike)):
            replacement = [replacement]
        with module.context:
            module.operation.attributes[weights.ATTRIBUTE] = ir.ArrayAttr.get(
                [ir.StringAttr.get(os.fspath(p)) for p in replacement])
        base = os.getcwd()
    try:
        weights.resolve_paths(module.operation, base)
    except weights.WeightsError as e:
        raise AttnError([error_at(module.operation, str(e))]) from None
    if problems := weights.check_globals(module.operation):
        raise AttnError([error_at(op, message) for op, message in problems])


def _current_context() -> ir.Context:
    """The context of the enclosing `with`, else a new project context."""
    try:
        current = ir.Context.current
    except ValueError:  # some versions of the bindings raise instead of returning None
        current = None
    if current is not None:
        return current
    from .context import make_context  # noqa: PLC0415 (context imports nothing of ours)

    return make_context()


def _rename_locations(module: ir.Module, old: str, new: str) -> None:
    """Point file locations at the user's file instead of the temporary copy."""
    def rename(loc: ir.Location) -> ir.Location:
        if loc.is_a_file() and loc.filename == old:
            return ir.Location.file(new, loc.start_line, loc.start_col, context=loc.context)
        return loc

    def visit(op):
        op.location = rename(op.location)
        for region in op.regions:
            for block in region.blocks:
                for arg in block.arguments:
                    arg.set_location(rename(arg.location))
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit, ir.WalkOrder.PRE_ORDER)


def load(path: str, context: ir.Context | None = None, weights_files=None) -> ir.Module:
    """Read and parse one `.mlir` file (or `-` for stdin); `weights_files` as in
    `parse_module`."""
    name = "<stdin>" if path == "-" else path
    return parse_module(read_text(path), name, context=context, weights_files=weights_files)


__all__ = ["Chunk", "split_input", "read_text", "parse_module", "load", "Diagnostic"]
