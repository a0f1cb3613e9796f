"""Rules for passes registered from Python, and how their failures are reported."""

import subprocess
import sys
import textwrap

import pytest

import attn_mlir as am


@pytest.mark.parametrize("name", ["canonicalize", "cse", "inline", "convert-scf-to-cf"])
def test_upstream_names_cannot_be_registered(name):
    with pytest.raises(am.AttnError, match=f"cannot register pass '{name}': an upstream MLIR "
                                           "pass has that name"):
        am.register_pass(name)(lambda op: None)
    assert am.passes.lookup(name) is None


@pytest.mark.parametrize("name", ["", "a,b", "a b", "x(y)", "-x"])
def test_names_are_one_pipeline_token(name):
    with pytest.raises(am.AttnError, match="cannot register"):
        am.register_pass(name or None)(type("Nameless", (am.Pass,), {"name": name}))


def test_project_passes_do_not_shadow_upstream_passes():
    from attn_mlir.passes import _is_upstream_pass

    assert [c.name for c in am.all_passes() if _is_upstream_pass(c.name)] == []


DRIVER = textwrap.dedent("""\
    import sys
    import attn_mlir as am

    def helper(op):
        raise ValueError("broken on purpose")

    @am.register_pass("test-raises", summary="Raises a Python exception.")
    def test_raises(op):
        helper(op)

    from attn_mlir.tools import attn_opt
    sys.exit(attn_opt.main(sys.argv[1:]))
""")


def _run(tmp_path, env_value):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    source = tmp_path / "in.mlir"
    source.write_text("func.func @f() {\n  return\n}\n")
    env = {**__import__("os").environ, "ATTN_MLIR_TRACEBACK": env_value}
    return subprocess.run([sys.executable, str(driver), str(source), "--test-raises"],
                          capture_output=True, text=True, env=env, timeout=600)


def test_user_pass_exception_is_one_line_by_default(tmp_path):
    done = _run(tmp_path, "")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: internal error in pass 'test-raises': ValueError: broken on purpose " \
           "(set ATTN_MLIR_TRACEBACK=1 for details)" in done.stderr


def test_user_pass_exception_keeps_its_traceback(tmp_path):
    done = _run(tmp_path, "1")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "in helper" in done.stderr and 'raise ValueError("broken on purpose")' in done.stderr
    assert "error: internal error in pass 'test-raises': ValueError: broken on purpose" \
        in done.stderr
