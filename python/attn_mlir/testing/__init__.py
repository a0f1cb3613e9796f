"""Helpers for tests of rewrites: numerical equivalence and generated attention heads."""

from .equivalence import RewriteOutcome, check_rewrite, random_inputs

__all__ = ["RewriteOutcome", "check_rewrite", "random_inputs"]
