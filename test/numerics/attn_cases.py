"""Helpers for the attn numerical tests: build one-op modules, compile them, make inputs."""

from __future__ import annotations

import numpy as np

import attn_mlir as am


def ttype(shape) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


def sdpa_module(q, k, v, mask=None, *, scale: float, causal: bool) -> str:
    shapes = [q, k, v] + ([mask] if mask is not None else [])
    names = ["%q", "%k", "%v", "%m"][:len(shapes)]
    result = list(q[:-1]) + [v[-1]]
    args = ", ".join(f"{n}: {ttype(s)}" for n, s in zip(names, shapes))
    types = ", ".join(ttype(s) for s in shapes)
    return (f"func.func @f({args}) -> {ttype(result)} {{\n"
            f"  %o = \"attn.sdpa\"({', '.join(names)}) {{scale = {scale!r} : f32, causal = "
            f"{'true' if causal else 'false'}}} : ({types}) -> {ttype(result)}\n"
            f"  return %o : {ttype(result)}\n}}\n")


def rotary_module(x, table, *, style: str, rotary_dim: int) -> str:
    return (f"func.func @f(%x: {ttype(x)}, %c: {ttype(table)}, %s: {ttype(table)}) -> {ttype(x)} {{\n"
            f"  %r = \"attn.rotary\"(%x, %c, %s) {{style = \"{style}\", rotary_dim = {rotary_dim} : i64}}"
            f" : ({ttype(x)}, {ttype(table)}, {ttype(table)}) -> {ttype(x)}\n"
            f"  return %r : {ttype(x)}\n}}\n")


def compile_text(text: str, pipeline: str = "builtin.module(attn-to-llvm)", entry=None):
    return am.compile(text, entry=entry, pipeline=pipeline)


def random_inputs(fn, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]
