"""`attn-opt --list-passes --verbose` and `--help-pass NAME` print each pass's documentation."""

import pytest

import attn_mlir as am
from attn_mlir.tools import attn_opt


def test_verbose_listing_has_every_docstring(capsys):
    assert attn_opt.main(["--list-passes", "--verbose"]) == 0
    out = capsys.readouterr().out
    for cls in am.all_passes():
        doc = attn_opt.pass_documentation(cls)
        assert f"  {cls.name}" in out
        if doc:
            assert doc.splitlines()[0].strip() in out, cls.name


def test_help_pass_prints_the_legality_conditions(capsys):
    assert attn_opt.main(["--help-pass", "attn-fold-score-scale"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("  attn-fold-score-scale\n")
    assert len(out.splitlines()) > 5


def test_help_pass_unknown_name(capsys):
    assert attn_opt.main(["--help-pass", "attn-nope"]) == 2
    assert "error: unknown project pass 'attn-nope' (known: " in capsys.readouterr().err


def test_short_listing_stays_short(capsys):
    assert attn_opt.main(["--list-passes"]) == 0
    short = capsys.readouterr().out
    assert attn_opt.main(["--list-passes", "--verbose"]) == 0
    assert len(capsys.readouterr().out) > 2 * len(short)


@pytest.mark.parametrize("call", ["parse", "load"])
def test_parse_and_load_outside_a_context(call, tmp_path):
    text = "func.func @f() {\n  return\n}\n"
    path = tmp_path / "f.mlir"
    path.write_text(text)
    module = am.parse(text) if call == "parse" else am.load(str(path))
    assert "func.func @f()" in str(module)
    bad = "func.func @f() {\n  return %x\n}\n"
    path.write_text(bad)
    with pytest.raises(am.AttnError, match="2:"):
        am.parse(bad) if call == "parse" else am.load(str(path))
