"""attn.rotary as linalg on tensors.

With R = rotary_dim, h = R / 2, the rotated channels are split into two
halves (a, b) that rotate as pairs (a_i, b_i):

    half        a = x[..., 0:h],          b = x[..., h:R]        (Llama / GPT-NeoX)
    interleaved a = x[..., 0:R:2],        b = x[..., 1:R:2]      (GPT-J)

    out_a = a * cos_a - b * sin_a,   out_b = b * cos_b + a * sin_b

where cos_a, cos_b (sin_a, sin_b) are cos (sin) sliced like a and b. This is
x * cos + rot(x) * sin with rot = rotate_half (half) or the pairwise rotation
(interleaved); channels R.. pass through. One elementwise linalg.generic and
two insert_slices into a copy of the input (a fresh tensor when every
channel rotates).
"""

from __future__ import annotations

from . import Emitter, affine_map, function, generic, tensor


def rotary(x_shape, cs_shape, elem: str, style: str, rotary_dim: int, name: str = "rotary") -> str:
    e = Emitter()
    et, n = elem, len(x_shape)
    h = rotary_dim // 2
    lead, cs_lead = list(x_shape[:-1]), list(cs_shape[:-1])
    x_t, cs_t = tensor(x_shape, et), tensor(cs_shape, et)
    part_t, cs_part_t = tensor(lead + [h], et), tensor(cs_lead + [h], et)
    offsets, stride = ((0, h), 1) if style == "half" else ((0, 1), 2)

    def slice_(src, src_t, dims, off, out_t):
        zeros = ", ".join(["0"] * (len(dims) - 1) + [str(off)])
        sizes = ", ".join(map(str, dims[:-1] + [h]))
        strides = ", ".join(["1"] * (len(dims) - 1) + [str(stride)])
        return e.op(f"tensor.extract_slice {src}[{zeros}] [{sizes}] [{strides}] : "
                    f"{src_t} to {out_t}")

    a, b = (slice_("%arg0", x_t, list(x_shape), o, part_t) for o in offsets)
    cos_a, cos_b = (slice_("%arg1", cs_t, list(cs_shape), o, cs_part_t) for o in offsets)
    sin_a, sin_b = (slice_("%arg2", cs_t, list(cs_shape), o, cs_part_t) for o in offsets)
    ident = affine_map(n, range(n))
    m = len(cs_shape)
    cs_map = affine_map(n, ["0" if (d == 1 and x_shape[n - m + i] != 1) else n - m + i
                            for i, d in enumerate(cs_shape)])

    def body(v):
        va, vb, ca, sa, cb, sb = v[:6]
        out_a = e.op(f"arith.subf {e.op(f'arith.mulf {va}, {ca} : {et}')}, "
                     f"{e.op(f'arith.mulf {vb}, {sa} : {et}')} : {et}")
        out_b = e.op(f"arith.addf {e.op(f'arith.mulf {vb}, {cb} : {et}')}, "
                     f"{e.op(f'arith.mulf {va}, {sb} : {et}')} : {et}")
        return [out_a, out_b]

    ya, yb = generic(e, [(a, part_t), (b, part_t), (cos_a, cs_part_t), (sin_a, cs_part_t),
                         (cos_b, cs_part_t), (sin_b, cs_part_t)],
                     [(e.op(f"tensor.empty() : {part_t}"), part_t),
                      (e.op(f"tensor.empty() : {part_t}"), part_t)],
                     [ident, ident, cs_map, cs_map, cs_map, cs_map, ident, ident],
                     ["parallel"] * n, body)
    # Write into a fresh tensor, never into the input: in-place updates of a
    # function argument would clobber the caller's buffer after bufferization.
    y = e.op(f"tensor.empty() : {x_t}")
    if rotary_dim < x_shape[-1]:
        y = e.op(f"linalg.copy ins(%arg0 : {x_t}) outs({y} : {x_t}) -> {x_t}")
    for part, off in zip((ya, yb), offsets):
        zeros = ", ".join(["0"] * (n - 1) + [str(off)])
        sizes = ", ".join(map(str, lead + [h]))
        strides = ", ".join(["1"] * (n - 1) + [str(stride)])
        y = e.op(f"tensor.insert_slice {part} into {y}[{zeros}] [{sizes}] [{strides}] : "
                 f"{part_t} into {x_t}")
    return function(name, [x_t, cs_t, cs_t], x_t, e, y)
