"""Reading `.mlir` source: whole files, stdin, and `--split-input-file` chunks.

Locations in the parsed IR and in diagnostics name the user's file and the
line in that file, also for chunks of a split file.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from mlir import ir

from .diagnostics import AttnError, Diagnostic, from_mlir_error

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

        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise AttnError(f"could not open input file '{path}': no such file") from None
    except IsADirectoryError:
        raise AttnError(f"could not open input file '{path}': is a directory") from None
    except (OSError, UnicodeDecodeError) as e:
        raise AttnError(f"could not read input file '{path}': {e}") from None


def parse_module(text: str, filename: str = "<stdin>", first_line: int = 1,
                 context: ir.Context | None = None) -> ir.Module:
    """Parse MLIR text into a module, with locations `filename:line:col`.

    Text without a top-level `module` is wrapped in one, as mlir-opt does.
    `first_line` shifts line numbers so a chunk of a split file reports the
    lines of the whole file.
    """
    context = context or ir.Context.current
    # The parser behind Module.parseFile wraps implicit modules and names
    # locations after the file it reads: give it a file whose lines line up.
    with tempfile.TemporaryDirectory(prefix="attn-mlir-") as tmp:
        path = os.path.join(tmp, os.path.basename(filename) or "input.mlir")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n" * (first_line - 1) + text)
        try:
            module = ir.Module.parseFile(path, context=context)
        except ir.MLIRError as e:
            raise from_mlir_error(e, {path: filename}) from None
    if filename != path:
        _rename_locations(module, path, filename)
    return module


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


def load(path: str, context: ir.Context | None = None) -> ir.Module:
    """Read and parse one `.mlir` file (or `-` for stdin)."""
    name = "<stdin>" if path == "-" else path
    return parse_module(read_text(path), name, context=context)


__all__ = ["Chunk", "split_input", "read_text", "parse_module", "load", "Diagnostic"]
