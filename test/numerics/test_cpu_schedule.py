"""The `cpu` schedule against numpy: odd shapes (tiles that do not divide),
M=1 decode, single-threaded and multi-threaded, every fixture, and the
polynomial exp. Sizes stay small: the suite runs on 2 shared cores."""

from pathlib import Path

import numpy as np
import pytest

import attn_mlir as am
from attn_mlir.bench import workloads as wl
from attn_mlir.lowering import cpu_tiles

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
THREADS = (1, 2)


def cpu(threads):
    return f"builtin.module(attn-to-llvm{{schedule=cpu threads={threads}}})"


TRANSPOSED_MAPS = {
    "b": ("affine_map<(d0, d1, d2) -> (d0, d2)>", "affine_map<(d0, d1, d2) -> (d1, d2)>"),
    "a": ("affine_map<(d0, d1, d2) -> (d2, d0)>", "affine_map<(d0, d1, d2) -> (d2, d1)>"),
}


def matmul_text(m, n, k, batch=None, transposed=None):
    """A (batch_)matmul function; `transposed` ("a" or "b") stores that operand
    transposed and reads it through an indexing map."""
    if batch is None:
        a, b, c, op = f"{m}x{k}", f"{k}x{n}", f"{m}x{n}", "linalg.matmul"
    else:
        a, b, c, op = f"{batch}x{m}x{k}", f"{batch}x{k}x{n}", f"{batch}x{m}x{n}", "linalg.batch_matmul"
    if transposed is not None:
        assert batch is None
        if transposed == "a":
            a = f"{k}x{m}"
        else:
            b = f"{n}x{k}"
        amap, bmap = TRANSPOSED_MAPS[transposed]
        op += (f" indexing_maps = [{amap}, {bmap}, affine_map<(d0, d1, d2) -> (d0, d1)>]")
    return f"""func.func @main(%a: tensor<{a}xf32>, %b: tensor<{b}xf32>) -> tensor<{c}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{c}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{c}xf32>) -> tensor<{c}xf32>
  %r = {op} ins(%a, %b : tensor<{a}xf32>, tensor<{b}xf32>) outs(%z : tensor<{c}xf32>) -> tensor<{c}xf32>
  return %r : tensor<{c}xf32>
}}"""


def random_inputs(fn, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(np.float32) for s in fn.arg_specs]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("m, n, k", [(37, 80, 53), (1, 40, 300), (1, 130, 17), (100, 16, 70),
                                     (9, 33, 600), (3, 5, 7)])
def test_matmul_odd_shapes(m, n, k, threads):
    fn = am.compile(matmul_text(m, n, k), pipeline=cpu(threads))
    a, b = random_inputs(fn)
    np.testing.assert_allclose(fn(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
def test_batch_matmul_odd_shapes(threads):
    fn = am.compile(matmul_text(19, 45, 33, batch=3), pipeline=cpu(threads))
    a, b = random_inputs(fn)
    np.testing.assert_allclose(fn(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("batch", [1, 5, 16])
def test_one_row_batch_matmul_split_by_product_or_column(batch, threads):
    """One query per head against its values (a decode step's P V): with at least one
    product per thread the threads take whole products, else they split columns."""
    fn = am.compile(matmul_text(1, 128, 77, batch=batch), pipeline=cpu(threads))
    a, b = random_inputs(fn)
    np.testing.assert_allclose(fn(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)




@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("which", sorted(TRANSPOSED_MAPS))
def test_matmul_with_transposed_operand_is_packed(which, threads):
    """Operands read through transposed maps are packed, then tiled like any matmul."""
    fn = am.compile(matmul_text(37, 45, 29, transposed=which), pipeline=cpu(threads))
    a, b = random_inputs(fn)
    want = (a.astype(np.float64) @ b.T) if which == "b" else (a.T.astype(np.float64) @ b)
    np.testing.assert_allclose(fn(a, b), want, rtol=1e-4, atol=1e-4)


def _scheduled(text: str, threads: int) -> str:
    """The IR right after the cpu schedule (before bufferization)."""
    with am.make_context():
        module = am.parse(text)
        am.run_pipeline(module, "builtin.module(attn-inline-dense-resources,attn-normalize,"
                                f"attn-cpu-schedule{{threads={threads}}})")
        return str(module)


DOT_INIT = """func.func @main(%a: tensor<{m}x{k}xf32>, %b: tensor<{n}x{k}xf32>, %c: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %r = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %b : tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) outs(%c : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("m, n, k", [(1, 64, 128), (1, 256, 192), (1, 1024, 512)])
def test_one_row_times_transposed_argument_is_dot_products(m, n, k, threads):
    """`x @ W^T` with W an argument and one row (a decode step): dot products along K,
    no transpose of W, accumulating into a non-zero init."""
    text = DOT_INIT.format(m=m, n=n, k=k)
    scheduled = _scheduled(text, threads)
    assert "linalg.transpose" not in scheduled and "vector.transpose" not in scheduled
    assert "vector.reduction <add>" in scheduled
    fn = am.compile(text, pipeline=cpu(threads))
    a, b, c = random_inputs(fn)
    np.testing.assert_allclose(fn(a, b, c), c + a.astype(np.float64) @ b.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m, n, k", [(2, 64, 128), (1, 60, 128), (1, 64, 100)])
def test_dot_form_not_for_more_rows_or_untiled_sizes(m, n, k):
    """Two rows, N not a multiple of 8 or K of 64: packed by a transpose as before."""
    text = DOT_INIT.format(m=m, n=n, k=k)
    assert "vector.reduction <add>" not in _scheduled(text, 1)
    fn = am.compile(text, pipeline=cpu(1))
    a, b, c = random_inputs(fn)
    np.testing.assert_allclose(fn(a, b, c), c + a.astype(np.float64) @ b.T, rtol=1e-4, atol=1e-4)


def _check_workload(w, threads):
    """A benchmark workload under the cpu schedule against its numpy reference."""
    fn = am.compile(w.text, entry="main", pipeline=cpu(threads))
    inputs = w.inputs()
    np.testing.assert_allclose(fn(*inputs), w.reference(inputs), rtol=1e-4, atol=1e-5)


HEADS = {
    "seq1000_d80": (1000, 80, 80),
    "seq1": (1, 64, 16),
    "seq77_d40": (77, 96, 40),
}


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name", sorted(HEADS))
def test_head(name, threads):
    _check_workload(wl.head(name, *HEADS[name]), threads)


@pytest.mark.parametrize("threads", THREADS)
def test_decode_step(threads):
    """M=1 projections, a KV cache whose length (77 + 1) divides no tile."""
    _check_workload(wl.decode("decode", 96, 40, 77), threads)


@pytest.mark.parametrize("threads", THREADS)
def test_mha_with_rotary(threads):
    _check_workload(wl.mha("mha", 24, 64, 4), threads)


@pytest.mark.parametrize("threads", THREADS)
def test_transpose_3d_odd(threads):
    text = """func.func @main(%x: tensor<7x19x21xf32>) -> tensor<21x7x19xf32> {
  %e = tensor.empty() : tensor<21x7x19xf32>
  %t = linalg.transpose ins(%x : tensor<7x19x21xf32>) outs(%e : tensor<21x7x19xf32>) permutation = [2, 0, 1]
  return %t : tensor<21x7x19xf32>
}"""
    fn = am.compile(text, pipeline=cpu(threads))
    (x,) = random_inputs(fn)
    np.testing.assert_array_equal(fn(x), x.transpose(2, 0, 1))


FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.mlir"))


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_matches_pytorch(name, threads):
    data = np.load(FIXTURES / f"{name}.npz")
    fn = am.compile((FIXTURES / f"{name}.mlir").read_text(), pipeline=cpu(threads))
    args = [data[f"arg{i}"] for i in range(len(fn.arg_specs))]
    np.testing.assert_allclose(fn(*args), data["result0"], rtol=1e-4, atol=1e-5)


def test_cpu_is_the_default_schedule_and_matches_loops():
    w = wl.head("h", 40, 48, 24)
    inputs = w.inputs()
    default = am.compile(w.text, entry="main")(*inputs)
    loops = am.compile(w.text, entry="main",
                       pipeline="builtin.module(attn-to-llvm{schedule=loops})")(*inputs)
    np.testing.assert_allclose(default, loops, rtol=1e-5, atol=1e-6)


def _exp_function(op: str) -> str:
    return f"""func.func @main(%x: tensor<4096xf32>) -> tensor<4096xf32> {{
  %e = tensor.empty() : tensor<4096xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}} ins(%x : tensor<4096xf32>) outs(%e : tensor<4096xf32>) {{
  ^bb0(%in: f32, %out: f32):
    %y = {op} %in : f32
    linalg.yield %y : f32
  }} -> tensor<4096xf32>
  return %r : tensor<4096xf32>
}}"""


def test_approximate_exp_accuracy():
    fn = am.compile(_exp_function("math.exp"), pipeline=cpu(1))
    x = np.linspace(-87.0, 88.0, 4096).astype(np.float32)
    np.testing.assert_allclose(fn(x), np.exp(x.astype(np.float64)), rtol=3e-7 * 4, atol=0)
    special = np.full(4096, 0.0, np.float32)
    special[:5] = [-np.inf, np.inf, np.nan, -100.0, 100.0]
    got = fn(special)
    assert got[0] == 0.0 and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == 0.0 and got[4] == np.inf
    assert np.all(got[5:] == 1.0)


def test_approximate_exp2_accuracy():
    fn = am.compile(_exp_function("math.exp2"), pipeline=cpu(1))
    x = np.linspace(-126.0, 127.0, 4096).astype(np.float32)
    np.testing.assert_allclose(fn(x), np.exp2(x.astype(np.float64)), rtol=3e-7 * 4, atol=0)
    ints = np.arange(-126, 128, dtype=np.float32)
    special = np.zeros(4096, np.float32)
    special[:5] = [-np.inf, np.inf, np.nan, -130.0, 130.0]
    special[5:5 + ints.size] = ints
    got = fn(special)
    assert got[0] == 0.0 and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == 0.0 and got[4] == np.inf
    np.testing.assert_array_equal(got[5:5 + ints.size],  # powers of two exactly
                                  np.ldexp(np.float32(1.0), ints.astype(np.int32)))
    assert np.all(got[5 + ints.size:] == 1.0)


def test_contraction_tiles_fit_avx512():
    t = cpu_tiles.contraction_tiles(0, 512, 64, 512, 2, vector_bits=512)
    assert t.register == (8, 32, 1)          # 16 zmm accumulators
    assert t.thread[0] % 8 == 0 and t.thread[1] % 32 == 0
    decode = cpu_tiles.contraction_tiles(0, 1, 128, 4096, 2, vector_bits=512)
    assert decode.register[0] == 1 and decode.thread[1] == 64 and decode.cache_k == 0
    # One query per head against its values (P V of a decode step): threads take whole
    # heads, each streaming whole rows of V, not half of every row.
    heads = cpu_tiles.contraction_tiles(16, 1, 128, 2049, 2, vector_bits=512)
    assert heads.thread == (1, 1, 128) and heads.register == (1, 1, 128, 1)
    one_head = cpu_tiles.contraction_tiles(1, 1, 128, 2049, 2, vector_bits=512)
    assert one_head.thread == (1, 1, 64)
    batched = cpu_tiles.contraction_tiles(16, 512, 512, 64, 2, vector_bits=512)
    assert batched.thread[0] == 1 and batched.register == (1, 8, 32, 1)
    big_k = cpu_tiles.contraction_tiles(0, 1024, 128, 4096, 1, vector_bits=512)
    assert big_k.cache_k == cpu_tiles.CACHE_K


def test_contraction_tiles_fit_avx2():
    """16 ymm registers: 12 accumulators of a 6x16 tile, and the M tiles stay
    multiples of 6 rows; the kernel's K loop takes 4 steps per iteration where
    4 divides the K extent it walks, one otherwise (and always one with AVX-512)."""
    t = cpu_tiles.contraction_tiles(0, 510, 64, 512, 2, vector_bits=256)
    assert t.register == (6, 16, 4)
    assert t.thread[0] % 6 == 0 and t.thread[1] % 16 == 0
    panel = cpu_tiles.panel_tiles(t, 16)
    assert panel.register == (6, 1, 16, 4) and panel.thread[2] == 16
    assert cpu_tiles.contraction_tiles(0, 12, 16, 30, 1, vector_bits=256).register == (6, 16, 1)
    assert cpu_tiles.contraction_tiles(4, 12, 16, 64, 1, vector_bits=256).register == (1, 6, 16, 4)
    assert cpu_tiles.contraction_tiles(0, 1, 64, 512, 1, vector_bits=256).register[-1] == 1
    assert cpu_tiles.contraction_tiles(0, 16, 64, 512, 1, vector_bits=512).register[-1] == 1


def test_avx2_thread_tiles_are_column_slices():
    """AVX2: a thread tile is every row against 128 columns of B (B read once per
    call), register tiles walking rows outermost; not when N has fewer slices than
    threads, and never with AVX-512 (row tiles, panels outermost)."""
    wide = cpu_tiles.contraction_tiles(0, 510, 2048, 2048, 2, vector_bits=256)
    assert wide.thread == (510, 128) and wide.register == (6, 16, 4)
    narrow = cpu_tiles.contraction_tiles(0, 1020, 128, 4096, 2, vector_bits=256)
    assert narrow.thread[0] < 1020 and narrow.thread[1] == 128
    assert cpu_tiles.contraction_tiles(0, 1020, 128, 4096, 1, vector_bits=256).thread == (1020, 128)
    assert cpu_tiles.contraction_tiles(0, 512, 2048, 2048, 2, vector_bits=512).thread[0] < 512
    assert not cpu_tiles.panels_outer(256) and cpu_tiles.panels_outer(512)


LOOP_TEXT = """func.func @main(%a: tensor<48x100xf32>, %b: tensor<100x40xf32>) -> tensor<48x40xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c100 = arith.constant 100 : index
  %e = tensor.empty() : tensor<48x40xf32>
  %acc0 = linalg.fill ins(%zero : f32) outs(%e : tensor<48x40xf32>) -> tensor<48x40xf32>
  %r = scf.for %i = %c0 to %c100 step %c32 iter_args(%acc = %acc0) -> (tensor<48x40xf32>) {
    %rem = affine.min affine_map<(d0) -> (32, 100 - d0)>(%i)
    %as = tensor.extract_slice %a[0, %i] [48, %rem] [1, 1] : tensor<48x100xf32> to tensor<48x?xf32>
    %bs = tensor.extract_slice %b[%i, 0] [%rem, 40] [1, 1] : tensor<100x40xf32> to tensor<?x40xf32>
    %p = linalg.matmul ins(%as, %bs : tensor<48x?xf32>, tensor<?x40xf32>) outs(%acc : tensor<48x40xf32>) -> tensor<48x40xf32>
    %h = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]} ins(%p : tensor<48x40xf32>) outs(%acc : tensor<48x40xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.mulf %x, %x : f32
      %z = arith.addf %y, %x : f32
      linalg.yield %z : f32
    } -> tensor<48x40xf32>
    scf.yield %h : tensor<48x40xf32>
  }
  return %r : tensor<48x40xf32>
}"""


@pytest.mark.parametrize("bits", (256, 512))
@pytest.mark.parametrize("b_constant", (False, True))
def test_row_remainder_runs_in_the_column_tiles(monkeypatch, bits, b_constant):
    """AVX2 (column thread tiles): the rows left over by 6-row register tiles
    (514 = 85 x 6 + 4) are split off inside each column tile, so they add no
    parallel region and B is read once; AVX-512 (row tiles: 514 = 64 x 8 + 2)
    splits the rows first, one region more than for 512 rows. Either way, the
    float64 result."""
    monkeypatch.setattr(cpu_tiles, "host_vector_bits", lambda: bits)
    n, k = 256, 96
    rng = np.random.default_rng(3)
    b = rng.standard_normal((k, n)).astype(np.float32)

    def text(m):
        t = matmul_text(m, n, k)
        if b_constant:  # packed at compile time: the panel form
            t = t.replace(f", %b: tensor<{k}x{n}xf32>", "").replace(
                "  %zero =", f'  %b = arith.constant dense<"0x{b.tobytes().hex().upper()}"> '
                             f": tensor<{k}x{n}xf32>\n  %zero =")
        return t

    def regions(m):  # remainder rows big enough for a parallel region of their own
        return _scheduled(matmul_text(m, 2048, 2048), 2).count("scf.forall (")

    whole = 510 if bits == 256 else 512
    assert whole % cpu_tiles.register_tile(whole, n)[0] == 0
    assert regions(514) - regions(whole) == (0 if bits == 256 else 1)
    fn = am.compile(text(514), pipeline=cpu(2))
    a = rng.standard_normal((514, k)).astype(np.float32)
    got = fn(a) if b_constant else fn(a, b)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)

@pytest.mark.parametrize("threads", THREADS)
def test_linalg_inside_scf_for(threads):
    """Ops inside loops: static ones are tiled and vectorised (no nested
    parallel regions), dynamic-shaped ones are left to the loop lowering."""
    fn = am.compile(LOOP_TEXT, pipeline=cpu(threads))
    a, b = (x / 4 for x in random_inputs(fn))
    acc = np.zeros((48, 40))
    for i in range(0, 100, 32):
        acc = acc + a[:, i:i + 32].astype(np.float64) @ b[i:i + 32]
        acc = acc * acc + acc
    np.testing.assert_allclose(fn(a, b), acc, rtol=1e-4, atol=1e-4)


def rms_pair(rows, cols):
    """Two RMSNorms (of x, then of 2x) whose sums start from one shared fill, as
    CSE leaves identical fills."""
    t, r = f"tensor<{rows}x{cols}xf32>", f"tensor<{rows}xf32>"
    norm = """
  %sq{i} = linalg.generic {{indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}}
      ins({x} : {t}) outs(%z : {r}) {{
  ^bb0(%a: f32, %o: f32):
    %p = arith.mulf %a, %a : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  }} -> {r}
  %n{i} = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}}
      ins({x}, %sq{i} : {t}, {r}) outs(%e : {t}) {{
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %cols : f32
    %v = arith.addf %m, %eps : f32
    %q = math.rsqrt %v : f32
    %y = arith.mulf %a, %q : f32
    linalg.yield %y : f32
  }} -> {t}"""
    return f"""#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @main(%x: {t}) -> ({t}, {t}) {{
  %zero = arith.constant 0.0 : f32
  %cols = arith.constant {float(cols)} : f32
  %eps = arith.constant 1.0e-5 : f32
  %e = tensor.empty() : {t}
  %er = tensor.empty() : {r}
  %z = linalg.fill ins(%zero : f32) outs(%er : {r}) -> {r}
  %x2 = linalg.add ins(%x, %x : {t}, {t}) outs(%e : {t}) -> {t}
{norm.format(i=0, x="%x", t=t, r=r)}
{norm.format(i=1, x="%x2", t=t, r=r)}
  return %n0, %n1 : {t}, {t}
}}"""


@pytest.mark.parametrize("threads", THREADS)
def test_norms_sharing_a_fill_are_each_one_pass(threads):
    """Each RMSNorm runs as one loop over row blocks (reduction and scaling fused),
    though their sums start from the same fill: the loop repeats the fill."""
    from attn_mlir import rewrite_log

    rewrite_log.current_log.clear()
    fn = am.compile(rms_pair(256, 512), pipeline=cpu(threads))
    fused = [e.message for e in rewrite_log.current_log.events if "row-wise" in e.message]
    assert sorted(fused) == ["3 row-wise ops fused", "4 row-wise ops fused"]  # (x2 joins its norm)
    x = np.random.default_rng(0).standard_normal((256, 512)).astype(np.float32)
    for got, v in zip(fn(x), (x, 2 * x)):
        v = v.astype(np.float64)
        np.testing.assert_allclose(got, v / np.sqrt((v * v).mean(1, keepdims=True) + 1e-5),
                                   rtol=1e-5, atol=1e-5)
