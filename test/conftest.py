"""Test-suite settings shared by every test directory."""

import os

# Every rewrite that fires in a test is also checked on random inputs before and after
# (attn_mlir.check_rewrites): a miscompiling rewrite fails the test that ran it.
os.environ.setdefault("ATTN_MLIR_CHECK_REWRITES", "1")
