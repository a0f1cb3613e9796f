"""The torch-mlir side of `attn_mlir.from_torch`, run as a separate process.

`exporter.py` is executed by path (`python exporter.py ...`) in an
interpreter that has torch and torch-mlir; it never imports attn_mlir, whose
MLIR bindings cannot share a process with torch-mlir's.
"""
