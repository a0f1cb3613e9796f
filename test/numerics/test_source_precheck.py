"""The parser prechecks (attn_mlir.source.precheck) skip the bodies of big string
literals (hex weights) but still report every error at its place in the user's
text, also on a line that holds such a literal."""

import numpy as np
import pytest

from attn_mlir import source
from attn_mlir.diagnostics import AttnError

HEX = "0x" + np.arange(4096, dtype=np.float32).tobytes().hex().upper()  # > BIG_LITERAL
assert len(HEX) > source.BIG_LITERAL


def located(text: str) -> tuple[int, int, str]:
    with pytest.raises(AttnError) as info:
        source.precheck(text, "in.mlir", first_line=3)
    d = info.value.diagnostics[0]
    assert d.file == "in.mlir"
    return d.line, d.col, d.message


def test_error_after_a_big_literal_on_the_same_line():
    bad = "permutation = [1, 0.5]"
    line = f'  %w = arith.constant dense<"{HEX}"> : tensor<4096xf32> %t = linalg.transpose {bad}'
    text = "func.func @f() {\n" + line + "\n}\n"
    col = line.index("0.5") + 1
    assert located(text) == (2 + 2, col, "expected integer value, got '0.5'")


def test_errors_on_lines_after_several_big_literals():
    lines = ["func.func @f() {"]
    lines += [f'  %w{i} = arith.constant dense<"{HEX}"> : tensor<4096xf32>' for i in range(3)]
    lines += ['  %g = linalg.generic {iterator_types = ["parallel", 7]}', "}"]
    col = lines[4].index("7") + 1
    assert located("\n".join(lines)) == (5 + 2, col, "expected an iterator type string, got '7'")


def test_unterminated_big_literal_is_reported_at_its_line_end():
    line = f'  %w = arith.constant dense<"{HEX}'
    text = "func.func @f() {\n" + line + "\n}\n"
    assert located(text) == (2 + 2, len(line) + 1, "expected '\"' in string literal")


def test_escaped_quote_and_comment_do_not_end_or_start_a_literal():
    ok = ('func.func @f() attributes {s = "a \\" // not a comment"} {\n'
          '  // a "comment with a quote\n'
          f'  %w = arith.constant dense<"{HEX}"> : tensor<4096xf32>\n'
          "}\n")
    source.precheck(ok, "in.mlir")


def test_big_literal_text_is_cut_only_inside_quotes():
    text = f'a "{HEX}" b "{HEX}" c'
    unterminated, skeleton = source._scan_literals(text)
    assert unterminated == -1 and skeleton.text == 'a "" b "" c'
    for at, ch in enumerate(skeleton.text):
        assert text[skeleton.original(at)] == ch
