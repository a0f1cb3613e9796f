"""attn.rotary lowered by attn-lower against numpy, for both styles and partial widths."""

import numpy as np
import pytest

from attn_cases import compile_text, random_inputs, rotary_module


def reference(x, cos, sin, style, width):
    x = np.asarray(x, np.float64)
    xr = x[..., :width]
    if style == "half":
        rotated = np.concatenate([-xr[..., width // 2:], xr[..., :width // 2]], axis=-1)
    else:  # GPT-J: pairs (2i, 2i + 1) rotate
        rotated = np.empty_like(xr)
        rotated[..., 0::2], rotated[..., 1::2] = -xr[..., 1::2], xr[..., 0::2]
    out = x.copy()
    out[..., :width] = xr * cos + rotated * sin
    return out


@pytest.mark.parametrize("style", ["half", "interleaved"])
@pytest.mark.parametrize("x, table, width", [
    ([1, 2, 5, 8], [5, 8], 8),            # Llama: full width, [S, D] tables
    ([1, 2, 5, 16], [1, 1, 5, 8], 8),     # NeoX partial rotary, tables [1, 1, S, R]
    ([3, 7, 10], [7, 6], 6),              # partial, width not a power of two
    ([4, 2], [1, 2], 2),                  # one pair, tables broadcast over positions
])
def test_rotary_matches_numpy(style, x, table, width):
    fn = compile_text(rotary_module(x, table, style=style, rotary_dim=width))
    args = random_inputs(fn, seed=width)
    copies = [a.copy() for a in args]
    got = fn(*args)
    np.testing.assert_allclose(got, reference(*copies, style, width), rtol=1e-5, atol=1e-6)
    for a, c in zip(args, copies):  # the kernel never writes into its inputs
        np.testing.assert_array_equal(a, c)
