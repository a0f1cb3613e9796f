"""Benchmarks (run as `python -m attn_mlir.bench.NAME`); kept out of the default test run."""
