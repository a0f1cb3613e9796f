"""The Llama decoder layer (bench/decoder.py) as numpy-style code over any array module.

Imported by bench/decoder.py (the float64 reference) and by bench/peers.py
(numpy and jax.numpy peers, in processes that may not have attn_mlir), so it
imports nothing but numpy.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def math(xp, soft, p):
    """The layer over array module `xp` (numpy, jax.numpy): fn(*inputs, *constants)."""
    s, e, h = p["seq"], p["hidden"], p["heads"]
    hd = e // h
    scale = np.float32(1.0 / np.sqrt(hd))
    mask = np.triu(np.full((s, s), -np.inf, np.float32), 1) if "context" not in p else None

    def rms(t, g):
        return t / xp.sqrt((t * t).mean(axis=-1, keepdims=True) + np.float32(EPS)) * g

    def rope(t, cos, sin):
        half = hd // 2
        return t * cos + xp.concatenate([-t[..., half:], t[..., :half]], axis=-1) * sin

    def fn(x, *rest):
        cache = rest[:len(rest) - 11]
        g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin = rest[len(cache):]
        xn = rms(x, g1)
        split = lambda t: t.reshape(s, h, hd).transpose(1, 0, 2)  # noqa: E731
        q, k, v = split(xn @ wq), split(xn @ wk), split(xn @ wv)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache:
            k = xp.concatenate([cache[0], k], axis=1)
            v = xp.concatenate([cache[1], v], axis=1)
        scores = (q @ k.transpose(0, 2, 1)) * scale
        if mask is not None:
            scores = scores + mask
        o = soft(scores) @ v
        hres = x + o.transpose(1, 0, 2).reshape(s, e) @ wo
        hn = rms(hres, g2)
        gate = hn @ wg
        return hres + (gate / (1 + xp.exp(-gate)) * (hn @ wu)) @ wd
    return fn
