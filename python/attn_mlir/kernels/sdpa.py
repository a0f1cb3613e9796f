"""attn.sdpa as linalg + scf on tensors: the tiled online-softmax kernel and the naive chain.

Both views work on rank-3 operands: batch and head dims are collapsed into one
group dim G (query group g reads key/value group g // (Hq / Hkv), which is the
grouped-query rule on the collapsed dims), rank-2 operands get a unit G.

Online softmax (FlashAttention-2 forward). Per query tile Qt [tq, D] and per
key/value block (Kb, Vb) [tk, D], [tk, Dv], with c = scale * log2(e):

    t    = (c Qt) Kb^T + log2(e) * bias        (-inf where an i1 mask is false, and for
                                                keys hidden by causal / window, below)
    m'   = max(m, rowmax(t))                   running max (base-2 logits)
    a    = exp2(m - m'),  p = exp2(t - m')     (m' = -inf is read as 0: no NaN)
    l'   = a * l + rowsum(p)                   running sum
    acc' = a * acc + p Vb                      output accumulator
    O    = acc / l  after the last block       (l = 0, a fully masked row: O = 0)

Shape of the code, for the cpu schedule: the (group, query tile) pairs are
independent, so they form one `scf.forall` (threads over tiles, each with its
own [tq, tk] score block: memory is O(threads * tq * tk), never O(Sq * Skv));
K is transposed once ([Gk, D, Skv], the size of K) so that both products are
plain `linalg.matmul`s (Qt [tq, D] x Kb^T [D, tk] and p [tq, tk] x Vb
[tk, Dv]), which the schedule turns into register-tiled FMA kernels; the
scale is folded into the query tile once; the row updates are one-result
elementwise/row-reduction generics written in place into their loop-carried
tensors. Tails: Sq and Skv need not be multiples of the tiles; the last
query tiles (a second forall over groups) and the last key/value block are
emitted with their own static sizes. Causal: the key/value loop of a query
tile stops after the block holding its last allowed key, so blocks above
the diagonal are never visited, and the forall visits query tiles in the
order 0, n-1, 1, n-2, ... so that threads given contiguous iterations get
equal work. Decode steps (Sq = 1) take the split-key form of `decode_splits`
(see there; dialect/docs/sdpa.md). Sliding window W: with i' = i + Skv - Sq, row i sees keys
i' - W < j (and j <= i' if causal); the key loop of a query tile starts at
the block holding its first row's first visible key, so the blocks a
window hides are not visited either (loop bounds per query tile; the
per-element select only hides keys inside the boundary blocks).

Masks: a float bias is added (times log2 e), an i1 mask selects -inf where
false. The mask keeps its own batch/head dims (collapsed to one, Gm): the
kernel computes the mask group of each query group (`mask_group`), so a
padding mask [B, 1, 1, Skv] or a bias [Hq, Sq, Skv] is never copied to
[B, Hq, Sq, Skv].
"""

from __future__ import annotations

import math

from . import Emitter, affine_map, from_rank3, function, generic, tensor, to_rank3

LOG2E = 1.0 / math.log(2.0)


class SdpaShapes:
    """Static shapes and attributes of one attn.sdpa, in the rank-3 view.

    `mask_elem` is the mask's element type: the query's (an additive bias) or
    "i1" (a keep-mask); `window` is the sliding window W or None."""

    def __init__(self, q, k, v, result, mask, elem: str, scale: float, causal: bool,
                 window: int | None = None, mask_elem: str | None = None):
        self.q, self.k, self.v, self.result = (list(s) for s in (q, k, v, result))
        self.mask = list(mask) if mask is not None else None
        self.elem, self.scale, self.causal, self.window = elem, scale, causal, window
        self.mask_elem = mask_elem or elem
        self.n = len(q)
        lead = self.q[:-2]
        self.G = math.prod(lead) if lead else 1
        self.Gk = math.prod(self.k[:-2]) if self.k[:-2] else 1
        self.rep = self.G // self.Gk
        self.Sq, self.D = self.q[-2], self.q[-1]
        self.Skv, self.Dv = self.k[-2], self.v[-1]

    @property
    def boolean_mask(self) -> bool:
        return self.mask is not None and self.mask_elem == "i1"

    @property
    def positional(self) -> bool:
        """Keys are hidden by position (causal or window), known without reading data."""
        return self.causal or self.window is not None

    @property
    def empty_rows_possible(self) -> bool:
        """Some row may see no key: a mask (data), or causal with Sq > Skv (the first
        Sq - Skv rows); a window alone never empties a row (i' - W < i' < Skv)."""
        return self.mask is not None or (self.causal and self.Sq > self.Skv)


def _views(e: Emitter, sh: SdpaShapes):
    """Rank-3 views [G, S, D] of q, k, v."""
    return tuple(to_rank3(e, f"%arg{i}", shape, sh.elem)[0]
                 for i, shape in enumerate((sh.q, sh.k, sh.v)))


def _mask_view(e: Emitter, sh: SdpaShapes, materialise: bool):
    """The mask as (name, [Gm, Sqm, Skvm]): its batch/head dims collapsed into Gm.

    With `materialise`, a mask broadcast along some but not all batch/head dims
    is first copied to the query's batch/head dims, so Gm is 1 or G (the chain
    indexes it with a projected map); otherwise Gm is the product of the mask's
    own batch/head dims and `mask_group` maps a query group to its mask group."""
    et = sh.mask_elem
    name, shape = "%arg3", list(sh.mask)
    padded = [1] * (sh.n - len(shape)) + shape
    lead, lead_q = padded[:-2], sh.q[:-2]
    if materialise and any(d != 1 for d in lead) and lead != lead_q:
        full = lead_q + padded[-2:]
        m = len(shape)
        res = ["0" if (d == 1 and full[sh.n - m + i] != 1) else sh.n - m + i
               for i, d in enumerate(shape)]
        empty = e.op(f"tensor.empty() : {tensor(full, et)}")
        name = generic(e, [(name, tensor(shape, et))], [(empty, tensor(full, et))],
                       [affine_map(sh.n, res), affine_map(sh.n, range(sh.n))],
                       ["parallel"] * sh.n, lambda a: [a[0]])[0]
        shape = full
    return to_rank3(e, name, shape, et)


def mask_group(e: Emitter, sh: SdpaShapes, g: str) -> str:
    """Index of query group g (batch/head dims of the query, collapsed) in the
    collapsed batch/head dims of the mask, which may broadcast along any of them."""
    lead_q = sh.q[:-2]
    lead = ([1] * (sh.n - len(sh.mask)) + sh.mask)[:-2]
    if all(d == 1 for d in lead):
        return e.index(0)
    if lead == lead_q:
        return g
    parts = []
    for i, d in enumerate(lead):
        if d == 1:
            continue
        coord = g
        q_stride = math.prod(lead_q[i + 1:])
        if q_stride > 1:
            coord = e.op(f"arith.divui {coord}, {e.index(q_stride)} : index")
        if i > 0:
            coord = e.op(f"arith.remui {coord}, {e.index(lead_q[i])} : index")
        m_stride = math.prod(lead[i + 1:])
        if m_stride > 1:
            coord = e.op(f"arith.muli {coord}, {e.index(m_stride)} : index")
        parts.append(coord)
    if not parts:
        return e.index(0)
    total = parts[0]
    for p in parts[1:]:
        total = e.op(f"arith.addi {total}, {p} : index")
    return total


def sdpa_online(sh: SdpaShapes, tile_q: int, tile_kv: int, name: str = "sdpa") -> str:
    """The tiled online-softmax kernel as a function text (see the module docstring)."""
    e = Emitter()
    et = sh.elem
    q3, k3, v3 = _views(e, sh)
    mask3 = _mask_view(e, sh, materialise=False) if sh.mask is not None else None
    G, Sq, Skv, D, Dv = sh.G, sh.Sq, sh.Skv, sh.D, sh.Dv
    TQ, TK = max(1, min(tile_q, Sq)), max(1, min(tile_kv, Skv))
    out_t = tensor([G, Sq, Dv], et)
    c0, c1 = e.index(0), e.index(1)
    ninf, zero = e.float(float("-inf"), et), e.float(0.0, et)
    c_scale = e.float(sh.scale * LOG2E, et)
    c_log2e = e.float(LOG2E, et)
    off = Skv - Sq  # query row i sits at key position i' = i + off (bottom-right)
    decode = decode_shape(sh)
    kt_t = tensor([sh.Gk, D, Skv], et)
    if not decode:
        # K^T once ([Gk, D, Skv], the size of K): every Q K^T block is then a plain matmul.
        kt3 = e.op(f"linalg.transpose ins({k3} : {tensor([sh.Gk, Skv, D], et)}) "
                   f"outs({e.op(f'tensor.empty() : {kt_t}')} : {kt_t}) permutation = [0, 2, 1]")

    def fill(value: str, t: str, fresh: bool = False) -> str:
        # `fresh`: a buffer of its own (each key block's score block and row max).
        # On an empty tensor, CSE would merge such a fill with the equal one of the
        # running state outside the key loop (zeros, -inf), and bufferization
        # would then copy that state's initial value into every block.
        empty = "bufferization.alloc_tensor()" if fresh else "tensor.empty()"
        return e.op(f"linalg.fill ins({value} : {et}) outs({e.op(f'{empty} : {t}')} : "
                    f"{t}) -> {t}")

    def q_tile(tq: int, g: str, qs: str) -> str:
        """The [tq, Dv] output rows qs.. of group g."""
        gk = e.op(f"arith.divui {g}, {e.index(sh.rep)} : index") if sh.rep > 1 else g
        gm = mask_group(e, sh, g) if mask3 is not None else None
        qd_t = tensor([tq, D], et)
        qt = e.op(f"tensor.extract_slice {q3}[{g}, {qs}, 0] [1, {tq}, {D}] [1, 1, 1] : "
                  f"{tensor([G, Sq, D], et)} to {qd_t}")
        # The scale goes into the query tile once, not into every score block.
        qt = generic(e, [(qt, qd_t)], [(e.op(f"tensor.empty() : {qd_t}"), qd_t)],
                     [affine_map(2, [0, 1])] * 2, ["parallel", "parallel"],
                     lambda a: [e.op(f"arith.mulf {a[0]}, {c_scale} : {et}")])[0]
        row_t, acc_t = tensor([tq], et), tensor([tq, Dv], et)
        m0, l0, a0 = fill(ninf, row_t), fill(zero, row_t), fill(zero, acc_t)
        state_t = f"{row_t}, {row_t}, {acc_t}"
        full_end = (Skv // TK) * TK
        qoff = ub = None
        lb = c0
        if sh.positional:
            qoff = e.op(f"arith.addi {qs}, {e.index(off)} : index")
        if sh.causal:
            # Blocks after the one holding the last row's last visible key are skipped.
            last = e.op(f"arith.addi {qoff}, {e.index(tq)} : index")
            last = e.op(f"arith.maxsi {last}, {c0} : index")
            ub = e.op(f"arith.minsi {last}, {e.index(Skv)} : index")
            ub_full = e.op(f"arith.minsi {ub}, {e.index(full_end)} : index")
        else:
            ub_full = e.index(full_end)
        if sh.window is not None:
            # Blocks before the one holding the first row's first visible key
            # (i' - W + 1) are skipped; lb <= full_end since that key is < Skv.
            first = e.op(f"arith.subi {qoff}, {e.index(sh.window - 1)} : index")
            first = e.op(f"arith.maxsi {first}, {c0} : index")
            lb = e.op(f"arith.divui {first}, {e.index(TK)} : index")
            lb = e.op(f"arith.muli {lb}, {e.index(TK)} : index")
        ctx = (tq, qt, qs, qoff, gk, gm)
        state = [m0, l0, a0]
        if full_end > 0:
            ks = e.fresh("ks")
            m, l, acc = e.fresh("m"), e.fresh("l"), e.fresh("acc")
            loop = e.fresh("kv")
            e.line(f"{loop}:3 = scf.for {ks} = {lb} to {ub_full} step {e.index(TK)} "
                   f"iter_args({m} = {m0}, {l} = {l0}, {acc} = {a0}) -> ({state_t}) {{")
            new = kv_block(ctx, TK, ks, [m, l, acc])
            e.line(f"scf.yield {', '.join(new)} : {state_t}")
            e.line("}")
            state = [f"{loop}#{i}" for i in range(3)]
        if full_end < Skv:
            tail_ks = e.index(full_end)
            if sh.causal:
                cond = e.op(f"arith.cmpi sgt, {ub}, {tail_ks} : index")
                branch = e.fresh("tail")
                e.line(f"{branch}:3 = scf.if {cond} -> ({state_t}) {{")
                new = kv_block(ctx, Skv - full_end, tail_ks, state)
                e.line(f"scf.yield {', '.join(new)} : {state_t}")
                e.line("} else {")
                e.line(f"scf.yield {', '.join(state)} : {state_t}")
                e.line("}")
                state = [f"{branch}#{i}" for i in range(3)]
            else:
                state = kv_block(ctx, Skv - full_end, tail_ks, state)
        _, l_fin, acc_fin = state

        def finish(a):
            is_zero = e.op(f"arith.cmpf oeq, {a[1]}, {zero} : {et}")
            div = e.op(f"arith.divf {a[0]}, {a[1]} : {et}")
            return [e.op(f"arith.select {is_zero}, {zero}, {div} : {et}")]

        # In place into the accumulator: no second [tq, Dv] buffer.
        return generic(e, [(l_fin, row_t)], [(acc_fin, acc_t)],
                       [affine_map(2, [0]), affine_map(2, [0, 1])],
                       ["parallel", "parallel"], lambda a: finish([a[1], a[0]]))[0]

    def kv_block(ctx, tk: int, ks: str, state) -> list[str]:
        tq, qt, qs, qoff, gk, gm = ctx
        m, l, acc = state
        row_t, acc_t, s_t = tensor([tq], et), tensor([tq, Dv], et), tensor([tq, tk], et)
        vb = e.op(f"tensor.extract_slice {v3}[{gk}, {ks}, 0] [1, {tk}, {Dv}] [1, 1, 1] : "
                  f"{tensor([sh.Gk, Skv, Dv], et)} to {tensor([tk, Dv], et)}")
        if decode:
            # The block of K as stored, [tk, D], read through a transposed map: the
            # schedule packs it in cache; no K^T copy of the whole cache is made.
            kb = e.op(f"tensor.extract_slice {k3}[{gk}, {ks}, 0] [1, {tk}, {D}] [1, 1, 1] : "
                      f"{tensor([sh.Gk, Skv, D], et)} to {tensor([tk, D], et)}")
            maps = ", ".join(affine_map(3, r) for r in ([0, 2], [1, 2], [0, 1]))
            s = e.op(f"linalg.matmul indexing_maps = [{maps}] ins({qt}, {kb} : "
                     f"{tensor([tq, D], et)}, {tensor([tk, D], et)}) "
                     f"outs({fill(zero, s_t, fresh=True)} : {s_t}) -> {s_t}")
        else:
            kb = e.op(f"tensor.extract_slice {kt3}[{gk}, 0, {ks}] [1, {D}, {tk}] [1, 1, 1] : "
                      f"{kt_t} to {tensor([D, tk], et)}")
            s = e.op(f"linalg.matmul ins({qt}, {kb} : {tensor([tq, D], et)}, "
                     f"{tensor([D, tk], et)}) outs({fill(zero, s_t, fresh=True)} : {s_t}) -> {s_t}")
        if mask3 is not None or sh.positional:
            ins, maps = [], []
            if mask3 is not None:
                mname, (Gm, Sqm, Skvm) = mask3
                mt = sh.mask_elem
                rows, cols = (tq if Sqm != 1 else 1), (tk if Skvm != 1 else 1)
                mo = (qs if Sqm != 1 else c0, ks if Skvm != 1 else c0)
                mb = e.op(f"tensor.extract_slice {mname}[{gm}, {mo[0]}, {mo[1]}] [1, {rows}, {cols}] "
                          f"[1, 1, 1] : {tensor([Gm, Sqm, Skvm], mt)} to {tensor([rows, cols], mt)}")
                ins.append((mb, tensor([rows, cols], mt)))
                maps.append(affine_map(2, [0 if Sqm != 1 else "0", 1 if Skvm != 1 else "0"]))

            def logits(a):
                x = a[-1]
                if mask3 is not None and sh.boolean_mask:
                    x = e.op(f"arith.select {a[0]}, {x}, {ninf} : {et}")
                elif mask3 is not None:
                    bias = e.op(f"arith.mulf {a[0]}, {c_log2e} : {et}")
                    x = e.op(f"arith.addf {x}, {bias} : {et}")
                if sh.positional:
                    # Decode rows are query heads at one position, not positions.
                    rows = None if decode else 0
                    x = _hide_by_position(e, sh, x, qoff, ks, ninf, dims=(rows, 1))
                return [x]

            maps.append(affine_map(2, [0, 1]))
            s = generic(e, ins, [(s, s_t)], maps, ["parallel", "parallel"], logits)[0]
        mx = generic(e, [(s, s_t)], [(fill(ninf, row_t, fresh=True), row_t)],
                     [affine_map(2, [0, 1]), affine_map(2, [0])], ["parallel", "reduction"],
                     lambda a: [e.op(f"arith.maximumf {a[0]}, {a[1]} : {et}")])[0]

        def safe(x):  # a running max of -inf (no key seen yet) is read as 0: no NaN
            is_ninf = e.op(f"arith.cmpf oeq, {x}, {ninf} : {et}")
            return e.op(f"arith.select {is_ninf}, {zero}, {x} : {et}")

        def rescale(a):  # a = exp2(m - m'), before m is overwritten by m'
            new = e.op(f"arith.maximumf {a[0]}, {a[1]} : {et}")
            return [e.op(f"math.exp2 {e.op(f'arith.subf {a[0]}, {safe(new)} : {et}')} : {et}")]

        alpha = generic(e, [(m, row_t), (mx, row_t)], [(e.op(f"tensor.empty() : {row_t}"), row_t)],
                        [affine_map(1, [0])] * 3, ["parallel"], rescale)[0]
        m_new = generic(e, [(mx, row_t)], [(m, row_t)], [affine_map(1, [0])] * 2, ["parallel"],
                        lambda a: [e.op(f"arith.maximumf {a[1]}, {a[0]} : {et}")])[0]
        # p = exp2(t - m'), in place into the score block.
        p = generic(e, [(m_new, row_t)], [(s, s_t)],
                    [affine_map(2, [0]), affine_map(2, [0, 1])], ["parallel", "parallel"],
                    lambda a: [e.op(f"math.exp2 {e.op(f'arith.subf {a[1]}, {safe(a[0])} : {et}')} : {et}")])[0]
        l_scaled = generic(e, [(alpha, row_t)], [(l, row_t)],
                           [affine_map(1, [0])] * 2, ["parallel"],
                           lambda a: [e.op(f"arith.mulf {a[1]}, {a[0]} : {et}")])[0]
        l_new = generic(e, [(p, s_t)], [(l_scaled, row_t)],
                        [affine_map(2, [0, 1]), affine_map(2, [0])], ["parallel", "reduction"],
                        lambda a: [e.op(f"arith.addf {a[0]}, {a[1]} : {et}")])[0]
        acc_scaled = generic(e, [(alpha, row_t)], [(acc, acc_t)],
                             [affine_map(2, [0]), affine_map(2, [0, 1])],
                             ["parallel", "parallel"],
                             lambda a: [e.op(f"arith.mulf {a[1]}, {a[0]} : {et}")])[0]
        acc_new = e.op(f"linalg.matmul ins({p}, {vb} : {s_t}, {tensor([tk, Dv], et)}) "
                       f"outs({acc_scaled} : {acc_t}) -> {acc_t}")
        return [m_new, l_new, acc_new]

    def tiles(count: int, tq: int, first: str, init: str) -> str:
        """An scf.forall over (group, query tile): tiles are independent, so they
        run in parallel, each with its own [tq, tk] score block."""
        g, qi, o, res = e.fresh("g"), e.fresh("qi"), e.fresh("o"), e.fresh("res")
        e.line(f"{res} = scf.forall ({g}, {qi}) in ({G}, {count}) shared_outs({o} = {init}) "
               f"-> ({out_t}) {{")
        t = qi
        if sh.causal and count > 2:
            # Causal tiles cost more the later they are; threads take contiguous
            # chunks of iterations, so visit tiles 0, n-1, 1, n-2, ... to balance them.
            half = e.op(f"arith.shrui {qi}, {c1} : index")
            odd = e.op(f"arith.andi {qi}, {c1} : index")
            is_odd = e.op(f"arith.cmpi ne, {odd}, {c0} : index")
            mirror = e.op(f"arith.subi {e.index(count - 1)}, {half} : index")
            t = e.op(f"arith.select {is_odd}, {mirror}, {half} : index")
        qs = e.op(f"arith.muli {t}, {e.index(tq)} : index")
        qs = e.op(f"arith.addi {qs}, {first} : index")
        o_t = q_tile(tq, g, qs)
        e.line("scf.forall.in_parallel {")
        e.line(f"tensor.parallel_insert_slice {o_t} into {o}[{g}, {qs}, 0] [1, {tq}, {Dv}] "
               f"[1, 1, 1] : {tensor([tq, Dv], et)} into {out_t}")
        e.line("}")
        e.line("}")
        return res

    def decode_splits() -> str:
        """Sq = 1: the rep query heads of a key/value group are the rows of one tile,
        so each K/V row is read once per group; the keys are split into ranges of
        whole blocks, an scf.forall over (group, split) computes each range's partial
        (max, sum, accumulator), a second forall over groups the last, shorter block
        (its own static size, its own partial: no branch), and a combine rescales
        the partials to their common max."""
        R, Gk = sh.rep, sh.Gk
        nb, tail = Skv // TK, Skv % TK
        first = max(Skv - sh.window, 0) // TK if sh.window is not None else 0
        blocks = nb - first
        splits = max(1, min(blocks, -(-DECODE_TASKS // Gk))) if blocks else 0
        per = -(-blocks // splits) if blocks else 0
        splits = -(-blocks // per) if per else 0
        parts = splits + (1 if tail else 0)
        qg_t = tensor([Gk, R, D], et)
        qg = q3
        if R > 1:
            flat = e.op(f"tensor.collapse_shape {q3} [[0, 1], [2]] : {tensor([G, 1, D], et)} "
                        f"into {tensor([G, D], et)}")
            qg = e.op(f"tensor.expand_shape {flat} [[0, 1], [2]] output_shape [{Gk}, {R}, {D}] "
                      f": {tensor([G, D], et)} into {qg_t}")
        part_t = tensor([Gk, parts, R], et)
        pacc_t = tensor([Gk, parts, R, Dv], et)
        row_t, acc_t = tensor([R], et), tensor([R, Dv], et)
        state_t = f"{row_t}, {row_t}, {acc_t}"

        def partials(count: int, init, body) -> list[str]:
            """An scf.forall over (group, sp < count): `body(sp, ctx, state)` runs the
            online-softmax blocks and returns (slot, state); the partial (m, l, acc)
            goes to index `slot` of the partials `init` (disjoint per task)."""
            gk, sp = e.fresh("gk"), e.fresh("sp")
            outs = [e.fresh("mo"), e.fresh("lo"), e.fresh("ao")]
            res = e.fresh("parts")
            e.line(f"{res}:3 = scf.forall ({gk}, {sp}) in ({Gk}, {count}) shared_outs("
                   f"{', '.join(f'{o} = {i}' for o, i in zip(outs, init))}) -> "
                   f"({part_t}, {part_t}, {pacc_t}) {{")
            gm = None
            if mask3 is not None:
                gm = mask_group(e, sh, e.op(f"arith.muli {gk}, {e.index(R)} : index"))
            rd_t = tensor([R, D], et)
            qt = e.op(f"tensor.extract_slice {qg}[{gk}, 0, 0] [1, {R}, {D}] [1, 1, 1] : "
                      f"{qg_t} to {rd_t}")
            qt = generic(e, [(qt, rd_t)], [(e.op(f"tensor.empty() : {rd_t}"), rd_t)],
                         [affine_map(2, [0, 1])] * 2, ["parallel", "parallel"],
                         lambda a: [e.op(f"arith.mulf {a[0]}, {c_scale} : {et}")])[0]
            state = [fill(ninf, row_t), fill(zero, row_t), fill(zero, acc_t)]
            ctx = (R, qt, c0, e.index(Skv - 1), gk, gm)
            slot, state = body(sp, ctx, state)
            e.line("scf.forall.in_parallel {")
            for value, out in ((state[0], outs[0]), (state[1], outs[1])):
                e.line(f"tensor.parallel_insert_slice {value} into {out}[{gk}, {slot}, 0] "
                       f"[1, 1, {R}] [1, 1, 1] : {row_t} into {part_t}")
            e.line(f"tensor.parallel_insert_slice {state[2]} into {outs[2]}[{gk}, {slot}, 0, 0] "
                   f"[1, 1, {R}, {Dv}] [1, 1, 1, 1] : {acc_t} into {pacc_t}")
            e.line("}")
            e.line("}")
            return [f"{res}#{i}" for i in range(3)]

        def full_blocks(sp, ctx, state):
            start = e.op(f"arith.muli {sp}, {e.index(per * TK)} : index")
            start = e.op(f"arith.addi {start}, {e.index(first * TK)} : index")
            stop = e.op(f"arith.addi {start}, {e.index(per * TK)} : index")
            stop = e.op(f"arith.minsi {stop}, {e.index(nb * TK)} : index")
            ks, loop = e.fresh("ks"), e.fresh("kv")
            carried = [e.fresh("m"), e.fresh("l"), e.fresh("acc")]
            e.line(f"{loop}:3 = scf.for {ks} = {start} to {stop} step {e.index(TK)} "
                   f"iter_args({', '.join(f'{c} = {i}' for c, i in zip(carried, state))}) "
                   f"-> ({state_t}) {{")
            e.line(f"scf.yield {', '.join(kv_block(ctx, TK, ks, carried))} : {state_t}")
            e.line("}")
            return sp, [f"{loop}#{i}" for i in range(3)]

        def tail_block(sp, ctx, state):
            return e.index(splits), kv_block(ctx, tail, e.index(nb * TK), state)

        res = [e.op(f"tensor.empty() : {t}") for t in (part_t, part_t, pacc_t)]
        if splits:
            res = partials(splits, res, full_blocks)
        if tail:
            res = partials(1, res, tail_block)
        out = _combine_splits(e, res, [Gk, parts, R, Dv], et)
        flat = e.op(f"tensor.collapse_shape {out} [[0, 1], [2]] : {tensor([Gk, R, Dv], et)} "
                    f"into {tensor([G, Dv], et)}")
        return e.op(f"tensor.expand_shape {flat} [[0, 1], [2]] output_shape [{G}, 1, {Dv}] : "
                    f"{tensor([G, Dv], et)} into {out_t}")

    if decode:
        result = from_rank3(e, decode_splits(), [G, Sq, Dv], sh.result, et)
        return function(name, _arg_types(sh), tensor(sh.result, et), e, result)
    cur = e.op(f"tensor.empty() : {out_t}")
    full_q = (Sq // TQ) * TQ
    if full_q > 0:
        cur = tiles(Sq // TQ, TQ, c0, cur)
    if full_q < Sq:
        cur = tiles(1, Sq - full_q, e.index(full_q), cur)
    result = from_rank3(e, cur, [G, Sq, Dv], sh.result, et)
    return function(name, _arg_types(sh), tensor(sh.result, et), e, result)


# Decode splits the keys until there are about this many (group, split) tasks.
DECODE_TASKS = 32


def decode_shape(sh: SdpaShapes) -> bool:
    """A decode step the split-key kernel handles: one query row, and a mask (if any)
    shared by the query heads of a key/value group (its head dim is 1, or no GQA)."""
    if sh.Sq != 1:
        return False
    if sh.mask is None or sh.rep == 1 or sh.n < 3:
        return True
    return len(sh.mask) < 3 or sh.mask[-3] == 1


def _combine_splits(e: Emitter, parts, shape, et: str) -> str:
    """O[g, r] = sum_s w[g,s,r] acc[g,s,r] / sum_s w[g,s,r] l[g,s,r] with
    w = exp2(m[g,s,r] - M[g,r]), M = max_s m (a split that saw no key has m = -inf,
    w = 0; M = -inf is read as 0, and a total of 0 gives 0)."""
    m, l, acc = parts
    Gk, S, R, Dv = shape
    part_t, row_t, out_t = tensor([Gk, S, R], et), tensor([Gk, R], et), tensor([Gk, R, Dv], et)
    zero, ninf = e.float(0.0, et), e.float(float("-inf"), et)

    def fill(value, t):
        return e.op(f"linalg.fill ins({value} : {et}) outs({e.op(f'tensor.empty() : {t}')} : "
                    f"{t}) -> {t}")

    def weight(a):
        is_ninf = e.op(f"arith.cmpf oeq, {a[1]}, {ninf} : {et}")
        top = e.op(f"arith.select {is_ninf}, {zero}, {a[1]} : {et}")
        return [e.op(f"math.exp2 {e.op(f'arith.subf {a[0]}, {top} : {et}')} : {et}")]

    def mac(a):
        return [e.op(f"arith.addf {a[2]}, {e.op(f'arith.mulf {a[0]}, {a[1]} : {et}')} : {et}")]

    def divide(a):
        is_zero = e.op(f"arith.cmpf oeq, {a[0]}, {zero} : {et}")
        div = e.op(f"arith.divf {a[1]}, {a[0]} : {et}")
        return [e.op(f"arith.select {is_zero}, {zero}, {div} : {et}")]

    red3 = ["parallel", "parallel", "reduction"]
    top = generic(e, [(m, part_t)], [(fill(ninf, row_t), row_t)],
                  [affine_map(3, [0, 2, 1]), affine_map(3, [0, 1])], red3,
                  lambda a: [e.op(f"arith.maximumf {a[0]}, {a[1]} : {et}")])[0]
    w = generic(e, [(m, part_t), (top, row_t)], [(e.op(f"tensor.empty() : {part_t}"), part_t)],
                [affine_map(3, [0, 1, 2]), affine_map(3, [0, 2]), affine_map(3, [0, 1, 2])],
                ["parallel"] * 3, weight)[0]
    total = generic(e, [(w, part_t), (l, part_t)], [(fill(zero, row_t), row_t)],
                    [affine_map(3, [0, 2, 1])] * 2 + [affine_map(3, [0, 1])], red3, mac)[0]
    out = generic(e, [(w, part_t), (acc, tensor([Gk, S, R, Dv], et))], [(fill(zero, out_t), out_t)],
                  [affine_map(4, [0, 3, 1]), affine_map(4, [0, 3, 1, 2]),
                   affine_map(4, [0, 1, 2])], ["parallel"] * 3 + ["reduction"], mac)[0]
    return generic(e, [(total, row_t)], [(out, out_t)],
                   [affine_map(3, [0, 1]), affine_map(3, [0, 1, 2])], ["parallel"] * 3,
                   divide)[0]


def _hide_by_position(e: Emitter, sh: SdpaShapes, x: str, qoff: str, ks: str, ninf: str,
                      dims=(0, 1)) -> str:
    """-inf for the keys that causal / window hide from this row, inside a generic
    over (query row, key) dims `dims` whose rows start at i' = qoff, keys at ks
    (dims[0] None: every row is at i' = qoff)."""
    qi = qoff
    if dims[0] is not None:
        i = e.op(f"linalg.index {dims[0]} : index")
        qi = e.op(f"arith.addi {i}, {qoff} : index")
    j = e.op(f"linalg.index {dims[1]} : index")
    kj = e.op(f"arith.addi {j}, {ks} : index")
    ok = None
    if sh.causal:
        ok = e.op(f"arith.cmpi sle, {kj}, {qi} : index")
    if sh.window is not None:
        start = e.op(f"arith.subi {qi}, {e.index(sh.window)} : index")
        inside = e.op(f"arith.cmpi sgt, {kj}, {start} : index")
        ok = inside if ok is None else e.op(f"arith.andi {ok}, {inside} : i1")
    return e.op(f"arith.select {ok}, {x}, {ninf} : {sh.elem}")


def sdpa_naive(sh: SdpaShapes, name: str = "sdpa") -> str:
    """The plain chain: S = scale * Q K^T (+ mask, causal, window), P = softmax(S),
    O = P V. Materialises the [G, Sq, Skv] score tensor. `linalg.softmax` gives NaN
    on a row that sees no key, so where such rows can occur the softmax is written
    out with the guard (row max -inf read as 0, sum 0 gives 0)."""
    e = Emitter()
    et = sh.elem
    q3, k3, v3 = _views(e, sh)
    mask3 = _mask_view(e, sh, materialise=True) if sh.mask is not None else None
    G, Sq, Skv, D, Dv = sh.G, sh.Sq, sh.Skv, sh.D, sh.Dv
    zero, ninf = e.float(0.0, et), e.float(float("-inf"), et)
    if sh.rep > 1:  # repeat key/value heads for grouped-query attention
        k3, v3 = (_repeat(e, x, [sh.Gk, Skv, d], sh.rep, et) for x, d in ((k3, D), (v3, Dv)))
    s_t = tensor([G, Sq, Skv], et)

    def mac(a):
        prod = e.op(f"arith.mulf {a[0]}, {a[1]} : {et}")
        return [e.op(f"arith.addf {a[2]}, {prod} : {et}")]

    s0 = e.op(f"linalg.fill ins({zero} : {et}) outs({e.op(f'tensor.empty() : {s_t}')} : "
              f"{s_t}) -> {s_t}")
    s = generic(e, [(q3, tensor([G, Sq, D], et)), (k3, tensor([G, Skv, D], et))], [(s0, s_t)],
                [affine_map(4, [0, 1, 3]), affine_map(4, [0, 2, 3]), affine_map(4, [0, 1, 2])],
                ["parallel", "parallel", "parallel", "reduction"], mac)[0]
    ins, maps = [(s, s_t)], [affine_map(3, [0, 1, 2])]
    if mask3 is not None:
        mname, mshape = mask3
        ins.append((mname, tensor(mshape, sh.mask_elem)))
        maps.append(affine_map(3, [i if d != 1 else "0" for i, d in enumerate(mshape)]))
    c_scale = e.float(sh.scale, et)

    def logits(a):
        x = e.op(f"arith.mulf {a[0]}, {c_scale} : {et}")
        if mask3 is not None and sh.boolean_mask:
            x = e.op(f"arith.select {a[1]}, {x}, {ninf} : {et}")
        elif mask3 is not None:
            x = e.op(f"arith.addf {x}, {a[1]} : {et}")
        if sh.positional:
            x = _hide_by_position(e, sh, x, e.index(Skv - Sq), e.index(0), ninf, dims=(1, 2))
        return [x]

    maps.append(affine_map(3, [0, 1, 2]))
    # Scale/mask in place into the scores and softmax into that buffer again, as a
    # hand-written chain would: the plain lowering holds one score tensor, not three.
    t = generic(e, ins, [(s, s_t)], maps, ["parallel"] * 3, logits)[0]
    if sh.empty_rows_possible:
        p = _guarded_softmax(e, t, [G, Sq, Skv], et)
    else:
        p = e.op(f"linalg.softmax dimension(2) ins({t} : {s_t}) outs({t} : {s_t}) -> {s_t}")
    o_t = tensor([G, Sq, Dv], et)
    o0 = e.op(f"linalg.fill ins({zero} : {et}) outs({e.op(f'tensor.empty() : {o_t}')} : "
              f"{o_t}) -> {o_t}")
    o = generic(e, [(p, s_t), (v3, tensor([G, Skv, Dv], et))], [(o0, o_t)],
                [affine_map(4, [0, 1, 3]), affine_map(4, [0, 3, 2]), affine_map(4, [0, 1, 2])],
                ["parallel", "parallel", "parallel", "reduction"], mac)[0]
    result = from_rank3(e, o, [G, Sq, Dv], sh.result, et)
    return function(name, _arg_types(sh), tensor(sh.result, et), e, result)


def _guarded_softmax(e: Emitter, t: str, shape, et: str) -> str:
    """softmax over the last dim of t, in place, with 0 for a row of -inf only:
    m = rowmax t; p = exp(t - (m == -inf ? 0 : m)); l = rowsum p; p / l (0 if l == 0)."""
    s_t, row_t = tensor(shape, et), tensor(shape[:-1], et)
    zero, ninf = e.float(0.0, et), e.float(float("-inf"), et)
    full, rows = affine_map(3, [0, 1, 2]), affine_map(3, [0, 1])

    def row_fill(value):
        return e.op(f"linalg.fill ins({value} : {et}) outs({e.op(f'tensor.empty() : {row_t}')} "
                    f": {row_t}) -> {row_t}")

    def exp_shifted(a):
        is_ninf = e.op(f"arith.cmpf oeq, {a[0]}, {ninf} : {et}")
        m = e.op(f"arith.select {is_ninf}, {zero}, {a[0]} : {et}")
        return [e.op(f"math.exp {e.op(f'arith.subf {a[1]}, {m} : {et}')} : {et}")]

    def normalise(a):
        is_zero = e.op(f"arith.cmpf oeq, {a[0]}, {zero} : {et}")
        div = e.op(f"arith.divf {a[1]}, {a[0]} : {et}")
        return [e.op(f"arith.select {is_zero}, {zero}, {div} : {et}")]

    red = ["parallel", "parallel", "reduction"]
    m = generic(e, [(t, s_t)], [(row_fill(ninf), row_t)], [full, rows], red,
                lambda a: [e.op(f"arith.maximumf {a[0]}, {a[1]} : {et}")])[0]
    p = generic(e, [(m, row_t)], [(t, s_t)], [rows, full], ["parallel"] * 3, exp_shifted)[0]
    total = generic(e, [(p, s_t)], [(row_fill(zero), row_t)], [full, rows], red,
                    lambda a: [e.op(f"arith.addf {a[0]}, {a[1]} : {et}")])[0]
    return generic(e, [(total, row_t)], [(p, s_t)], [rows, full], ["parallel"] * 3,
                   normalise)[0]


def _repeat(e: Emitter, name: str, shape, rep: int, et: str) -> str:
    """[Gk, S, d] -> [Gk * rep, S, d], group g reading group g // rep."""
    gk, s, d = shape
    wide = [gk, rep, s, d]
    empty = e.op(f"tensor.empty() : {tensor(wide, et)}")
    b = generic(e, [(name, tensor(shape, et))], [(empty, tensor(wide, et))],
                [affine_map(4, [0, 2, 3]), affine_map(4, [0, 1, 2, 3])], ["parallel"] * 4,
                lambda a: [a[0]])[0]
    return e.op(f"tensor.collapse_shape {b} [[0, 1], [2], [3]] : {tensor(wide, et)} into "
                f"{tensor([gk * rep, s, d], et)}")


def _arg_types(sh: SdpaShapes) -> list[str]:
    types = [tensor(sh.q, sh.elem), tensor(sh.k, sh.elem), tensor(sh.v, sh.elem)]
    if sh.mask is not None:
        types.append(tensor(sh.mask, sh.mask_elem))
    return types
