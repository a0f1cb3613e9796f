"""ONNX graphs of the benchmark workloads, for onnxruntime and OpenVINO.

Three forms of each workload, all built with `onnx.helper` from the same
arrays the other peers get:

* `plain`: MatMul / Transpose / Softmax (and Split/Neg/Concat/Mul/Add for the
  rotary embedding), the graph any exporter produces;
* `mha`: onnxruntime's fused `com.microsoft.MultiHeadAttention`, with
  `com.microsoft.RotaryEmbedding` where the workload has RoPE;
* `attn23`: the opset-23 `Attention` operator (RoPE as plain ops).

Kinds (see peers.py for the arrays): `head` (x, wq, wk, wv), `decode`
(x, wq, wk, wv, k_cache, v_cache), `mha` (x, wq, wk, wv, wo, cos, sin; the
Llama layer is `mha` with its weights as initializers). Arrays whose index is in
`consts` become initializers (constant weights, the way a deployed model
ships); the others are graph inputs named arg0, arg1, ...
"""

from __future__ import annotations

import numpy as np

FORMS = ("plain", "mha", "attn23")


class _Graph:
    def __init__(self):
        from onnx import helper

        self.h = helper
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, array, name=None):
        from onnx import numpy_helper

        name = name or self.fresh("c")
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def fresh(self, prefix="t"):
        self.count += 1
        return f"{prefix}{self.count}"

    def op(self, kind, *inputs, domain="", **attrs):
        out = self.fresh()
        self.nodes.append(self.h.make_node(kind, list(inputs), [out], domain=domain, **attrs))
        return out

    def reshape(self, x, shape):
        return self.op("Reshape", x, self.const(np.array(shape, np.int64)))


def _rotate(g, t, cos, sin, half):
    """t * cos + rotate_half(t) * sin on the last axis (length 2 * half)."""
    split = g.const(np.array([half, half], np.int64))
    a = g.fresh()
    b = g.fresh()
    g.nodes.append(g.h.make_node("Split", [t, split], [a, b], axis=-1))
    rot = g.op("Concat", g.op("Neg", b), a, axis=-1)
    return g.op("Add", g.op("Mul", t, cos), g.op("Mul", rot, sin))


def _attention(g, form, q, k, v, seq_q, seq_k, heads, hd):
    """Scaled dot-product attention; q/k/v are [heads, seq, hd] (plain, attn23)
    or [1, seq, heads*hd] (mha). Returns [heads, seq_q, hd] or [1, seq_q, heads*hd]."""
    scale = np.float32(1.0 / np.sqrt(hd))
    if form == "plain":
        s = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 2, 1]))
        p = g.op("Softmax", g.op("Mul", s, g.const(np.array(scale))), axis=-1)
        return g.op("MatMul", p, v)
    if form == "attn23":
        four = [g.reshape(t, [1, heads, n, hd]) for t, n in ((q, seq_q), (k, seq_k), (v, seq_k))]
        o = g.op("Attention", *four, scale=float(scale))
        return g.reshape(o, [heads, seq_q, hd])
    return g.op("MultiHeadAttention", q, k, v, domain="com.microsoft", num_heads=heads)


def _decoder(g, form, names, arrays, p):
    """Llama decoder layer (bench/decoder.py): prefill with a causal mask, or one
    step with the KV cache (arrays 1, 2) appended to."""
    s, e, h = p["seq"], p["hidden"], p["heads"]
    hd = e // h
    step = "context" in p
    x = names[0]
    g1, wq, wk, wv, wo, g2, wg, wu, wd, cos, sin = names[3:] if step else names[1:]
    axes = g.const(np.array([-1], np.int64))
    eps = g.const(np.array(1e-6, np.float32))  # decoder_math.EPS

    def rms(t, gain):
        ms = g.op("ReduceMean", g.op("Mul", t, t), axes, keepdims=1)
        return g.op("Mul", g.op("Div", t, g.op("Sqrt", g.op("Add", ms, eps))), gain)

    xn = rms(x, g1)
    split = lambda t: g.op("Transpose", g.reshape(t, [s, h, hd]), perm=[1, 0, 2])  # noqa: E731
    q, k, v = (split(g.op("MatMul", xn, w)) for w in (wq, wk, wv))
    q, k = _rotate(g, q, cos, sin, hd // 2), _rotate(g, k, cos, sin, hd // 2)
    keys = s
    if step:
        k = g.op("Concat", names[1], k, axis=1)
        v = g.op("Concat", names[2], v, axis=1)
        keys = p["context"] + s
    if form == "attn23":
        four = [g.reshape(t, [1, h, n, hd]) for t, n in ((q, s), (k, keys), (v, keys))]
        o = g.reshape(g.op("Attention", *four, is_causal=0 if step else 1,
                           scale=float(1 / np.sqrt(hd))), [h, s, hd])
    else:
        sc = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 2, 1])),
                  g.const(np.array(1 / np.sqrt(hd), np.float32)))
        if not step:
            sc = g.op("Add", sc, g.const(np.triu(np.full((s, s), -np.inf, np.float32), 1)))
        o = g.op("MatMul", g.op("Softmax", sc, axis=-1), v)
    attn = g.op("MatMul", g.reshape(g.op("Transpose", o, perm=[1, 0, 2]), [s, e]), wo)
    hres = g.op("Add", x, attn)
    hn = rms(hres, g2)
    gate = g.op("MatMul", hn, wg)
    act = g.op("Mul", g.op("Mul", gate, g.op("Sigmoid", gate)), g.op("MatMul", hn, wu))
    return g.op("Add", hres, g.op("MatMul", act, wd)), [s, e]


def build(kind: str, form: str, arrays: list[np.ndarray], params: dict, consts=()) -> bytes:
    """Serialized ONNX model of workload `kind` in `form` (see the module doc)."""
    from onnx import TensorProto, helper

    g = _Graph()
    names, inputs = [], []
    for i, a in enumerate(arrays):
        if i in consts:
            names.append(g.const(a, f"arg{i}"))
        else:
            names.append(f"arg{i}")
            inputs.append(helper.make_tensor_value_info(f"arg{i}", TensorProto.FLOAT, list(a.shape)))
    if kind in ("head", "decode"):
        x, wq, wk, wv = names[:4]
        k_dim = arrays[1].shape[1]
        q, k, v = (g.op("MatMul", x, w) for w in (wq, wk, wv))
        seq_q = arrays[0].shape[0]
        seq_k = seq_q
        if kind == "decode":
            k = g.op("Concat", names[4], k, axis=0)
            v = g.op("Concat", names[5], v, axis=0)
            seq_k = arrays[4].shape[0] + seq_q
        shape = (lambda n: [1, n, k_dim]) if form == "mha" else (lambda n: [1, n, k_dim])
        q3, k3, v3 = g.reshape(q, shape(seq_q)), g.reshape(k, shape(seq_k)), g.reshape(v, shape(seq_k))
        o = _attention(g, form, q3, k3, v3, seq_q, seq_k, 1, k_dim)
        out = g.reshape(o, [seq_q, k_dim])
        out_shape = [seq_q, k_dim]
    elif kind == "mha":
        x, wq, wk, wv, wo, cos, sin = names
        s, e, h = params["seq"], params["d_model"], params["heads"]
        hd = e // h
        q, k, v = (g.op("MatMul", x, w) for w in (wq, wk, wv))
        if form == "mha":
            pos = g.const(np.arange(s, dtype=np.int64).reshape(1, s))
            half = hd // 2
            # The cache is [max_position, head_dim / 2]: the first half of each table.
            cut = [g.const(np.array(v, np.int64)) for v in ([0], [half], [1])]
            cos_c, sin_c = (g.op("Slice", t, *cut) for t in (cos, sin))
            q3, k3, v3 = (g.reshape(t, [1, s, e]) for t in (q, k, v))
            q3, k3 = (g.op("RotaryEmbedding", t, pos, cos_c, sin_c, domain="com.microsoft",
                           num_heads=h, interleaved=0) for t in (q3, k3))
            o = _attention(g, form, q3, k3, v3, s, s, h, hd)
            merged = g.reshape(o, [s, e])
        else:
            split = lambda t: g.op("Transpose", g.reshape(t, [s, h, hd]), perm=[1, 0, 2])  # noqa: E731
            qh, kh, vh = split(q), split(k), split(v)
            qh, kh = _rotate(g, qh, cos, sin, hd // 2), _rotate(g, kh, cos, sin, hd // 2)
            o = _attention(g, form, qh, kh, vh, s, s, h, hd)
            merged = g.reshape(g.op("Transpose", o, perm=[1, 0, 2]), [s, e])
        out = g.op("MatMul", merged, wo)
        out_shape = [s, e]
    elif kind in ("decoder", "decoder_step") and form != "mha":
        out, out_shape = _decoder(g, form, names, arrays, params)
    else:
        raise SystemExit(f"no {form} ONNX graph for the '{kind}' workload")
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)]
    graph = helper.make_graph(g.nodes, f"{kind}_{form}", inputs, outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", 23)]
    if form == "mha":
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10
    return model.SerializeToString()
