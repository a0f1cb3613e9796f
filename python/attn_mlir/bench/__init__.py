"""Benchmarks of attn-mlir's CPU kernels against numpy, PyTorch and IREE.

`python -m attn_mlir.bench --help` runs the workload suite (workloads.py, one
process per peer in peers.py, reports in report.py); other benchmarks run as
`python -m attn_mlir.bench.NAME` (e.g. sdpa_memory). None is part of the test run.
"""
