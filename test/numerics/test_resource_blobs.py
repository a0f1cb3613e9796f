"""dense_resource blobs read in place (resource_blobs.py), not through the printed module."""

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir import constants
from attn_mlir.resource_blobs import UNAVAILABLE, blob_view

TEXT = """
func.func @f(%x: tensor<{n}xf32>) -> tensor<{n}xf32> {{
  %w = arith.constant dense_resource<w> : tensor<{n}xf32>
  %e = tensor.empty() : tensor<{n}xf32>
  %y = linalg.mul ins(%x, %w : tensor<{n}xf32>, tensor<{n}xf32>) outs(%e : tensor<{n}xf32>) -> tensor<{n}xf32>
  return %y : tensor<{n}xf32>
}}
{{-#
  dialect_resources: {{ builtin: {{ w: "0x04000000{hex}" }} }}
#-}}
"""


def _module_text(w: np.ndarray) -> str:
    return TEXT.format(n=w.size, hex=w.astype("<f4").tobytes().hex().upper())


def _weight_attr(module):
    return next(op for op in module.body.operations[0].regions[0].blocks[0].operations
                if op.name == "arith.constant").attributes["value"]


def test_blob_view_is_the_blob_in_place():
    w = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    with am.make_context():
        module = am.parse(_module_text(w))
        view = blob_view(_weight_attr(module))
        assert view is not UNAVAILABLE
        assert not view.flags.writeable
        np.testing.assert_array_equal(view.view(np.float32), w)
        # The same bytes as the printed module's hex.
        assert constants.read_resource_blobs(module.operation)["w"] == view.tobytes()


def test_reading_and_inlining_do_not_print_the_module(monkeypatch):
    w = np.arange(64, dtype=np.float32)

    def printed(module_op):
        raise AssertionError("the module was printed to read a blob")

    monkeypatch.setattr(constants, "read_resource_blobs", printed)
    with am.make_context():
        module = am.parse(_module_text(w))
        value = _weight_attr(module)
        constant = next(op for op in module.body.operations[0].regions[0].blocks[0].operations
                        if op.name == "arith.constant")
        np.testing.assert_array_equal(constants.constant_array(constant.results[0]), w)
        assert constants.inline_dense_resources(module.operation) == 1
        assert "dense_resource" not in str(module) and value is not None
        x = np.ones(64, np.float32)
        np.testing.assert_array_equal(am.compile(module)(x), w)


def test_without_the_symbol_the_printed_module_is_read(monkeypatch):
    import attn_mlir.constants as c

    monkeypatch.setattr(c, "blob_view", lambda attr: UNAVAILABLE)
    w = np.arange(8, dtype=np.float32)
    with am.make_context():
        module = am.parse(_module_text(w))
        assert c.inline_dense_resources(module.operation) == 1
        np.testing.assert_array_equal(am.compile(module)(np.ones(8, np.float32)), w)


def test_a_resource_without_a_blob_is_a_located_error():
    text = """
func.func @f() -> tensor<4xf32> {
  %w = arith.constant dense_resource<missing> : tensor<4xf32>
  return %w : tensor<4xf32>
}"""
    with am.make_context():
        module = am.parse(text, "blobless.mlir")
        with pytest.raises(am.AttnError, match=r"blobless.mlir:3:\d+: error: dense_resource "
                                               r"'missing' has no blob"):
            constants.inline_dense_resources(module.operation)
