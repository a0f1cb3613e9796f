"""Benchmarks of attn-mlir's CPU kernels against numpy, PyTorch and IREE.

`python -m attn_mlir.bench --help`; workloads in bench/workloads.py, one
process per peer in bench/peers.py, reports in bench/report.py.
"""
