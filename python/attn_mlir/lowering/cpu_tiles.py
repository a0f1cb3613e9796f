"""Tile sizes for the `cpu` schedule, chosen from an op's static shape.

Pure arithmetic, no IR: a contraction gets a thread-level tile (one
`scf.forall` iteration per tile), an optional cache-level K tile, and a
register tile that becomes one vectorised micro-kernel; an elementwise or
reduction generic gets a thread-level split of one outer parallel dimension
and a vector tile along its innermost dimension.

Register tiles are sized for AVX-512: a row of the accumulator is NR f32
lanes (two 16-lane registers for NR=32), MR rows, so MR*NR/16 accumulators
(16 for 8x32) hide the FMA latency while B's row and MR broadcasts of A
stay in the remaining registers. The JIT compiles for the host CPU; on one
without AVX-512 (16 ymm registers of 8 lanes) the tile is 6x16 instead: 12
accumulators, two B vectors and one broadcast (the BLIS/MLAS AVX2 kernel).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

LANES = 16            # f32 lanes of one AVX-512 register
VECTOR_TILE = 64      # innermost tile of elementwise/reduction generics (4 registers)
CACHE_K = 256         # K block: a 256 x 32 panel of B (32 KiB) stays in L1 across a register tile
# K steps per iteration of an AVX2 micro-kernel's loop (6x16: 48 FMAs per iteration,
# as MLAS's FMA3 kernel unrolls by 4). Measured on a 2-core Zen 3 (AVX2), one
# process, interleaved calls: a 512x2048x2048 product with constant B 84 -> 104
# GFLOP/s mean, the benchmark's Llama decoder layer 642 -> 547 ms median. AVX-512
# hosts keep one K step per iteration (8x32: 16 FMAs), as measured there.
AVX2_K_UNROLL = 4
# Columns of B per thread tile on AVX2 hosts (see contraction_tiles and panels_outer).
# With the loop order of panels_outer, on the same Zen 3: the benchmark's Llama
# attention layer with one thread 352 -> 312 ms median, a 512x2048x2048 product
# 49.8 -> 57.3 GFLOP/s mean (one process, interleaved calls).
AVX2_COLUMN_TILE = 128
# Below these sizes a parallel region (waking threads, a barrier, and on a busy
# machine waiting for a descheduled thread) costs more than it saves. 16 Ki elements:
# a 512x64 head's per-call packs and K transpose, serial below it, left the other
# thread waiting (head512 1.11 -> 1.03 ms with 2 threads, no change on the others).
MIN_PARALLEL_WORK = 1 << 14        # elements of an elementwise/reduction generic
MIN_PARALLEL_FLOPS = 8 << 20       # flops of a contraction


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(a: int, b: int) -> int:
    return _ceil_div(a, b) * b


@dataclass(frozen=True)
class ContractionTiles:
    """Tiles of an (optionally batched) M x N x K contraction."""

    thread: tuple[int, ...]    # scf.forall sizes over the parallel dims (0 = untiled)
    cache_k: int               # K tile of the cache-level loop (0 = untiled)
    register: tuple[int, ...]  # sizes of the vector micro-kernel over all loop dims (K last)


def register_tile(m: int, n: int, threads: int = 1,
                  vector_bits: int | None = None, batch: int = 0) -> tuple[int, int]:
    """(MR, NR): 8x32 for wide problems, 16 rows of one register for narrow N,
    and one row of up to 8 registers for M=1 (decode: a vector-matrix product;
    its columns are split across threads unless a batch of at least one product
    per thread is split instead).
    On a host without AVX-512 (`vector_bits` 256: 16 ymm registers) 8x32 would
    need 32 accumulators and spill: 6x16 instead (12 accumulators)."""
    if m == 1:
        if n <= LANES:
            return 1, n
        per_thread = _round_up(_ceil_div(n, 1 if _batch_split(batch, threads) else threads), LANES)
        return 1, min(per_thread, 128, n - n % LANES)
    if (vector_bits or host_vector_bits()) < 512:
        # 16 ymm registers: 6x16 is 12 accumulators, two B vectors and a broadcast (BLIS, MLAS).
        nr = 16 if n >= 16 else n
        return min(6, m), nr
    nr = 32 if n >= 32 else (LANES if n >= LANES else n)
    mr = min(8 if nr >= 32 else 16, m)
    return mr, nr


def _batch_split(batch: int, threads: int) -> bool:
    """Whether threads split a batch of one-row products by product, not by column."""
    return batch >= threads


@functools.lru_cache(maxsize=None)
def host_vector_bits() -> int:
    """512 if the host CPU (which the JIT compiles for) has AVX-512F, 256 with AVX2."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return 512
    if "avx512f" in flags:
        return 512
    return 256 if "avx2" in flags else 128


def panel_width() -> int:
    """NR of the B panels: the register tile's width for wide problems."""
    return register_tile(1 << 20, 1 << 20)[1]


def panel_tiles(tiles: ContractionTiles, nr: int) -> ContractionTiles:
    """A matmul's tiles over the panel form's loop dims (m, j, r, k): N tiles become
    panel counts, each register tile one whole panel row."""
    mt, nt = tiles.thread
    mr, _, kr = tiles.register
    return ContractionTiles((mt, nt // nr, nr), tiles.cache_k, (mr, 1, nr, kr))


def _largest_divisor(units: int, limit: int) -> int:
    """The largest d dividing `units` with d <= limit (at least 1)."""
    for d in range(max(1, min(units, limit)), 0, -1):
        if units % d == 0:
            return d
    return 1


def _even_block(k: int, target: int) -> int:
    """A K block of about `target` that divides `k` (0: no blocking)."""
    if k <= target:
        return 0
    blocks = _ceil_div(k, target)
    for count in range(blocks, 2 * blocks + 1):
        if k % count == 0:
            return k // count
    return 0


def contraction_tiles(batch: int, m: int, n: int, k: int, threads: int,
                      vector_bits: int | None = None) -> ContractionTiles:
    """Tiles for C[b?, m, n] += A[b?, m, k] * B[b?, k, n] (batch 0: unbatched) whose
    M and N are multiples of the register tile (the schedule splits off the
    rest first), so that every tile is full and no micro-kernel is masked."""
    mr, nr = register_tile(m, n, threads, vector_bits, batch)
    if m % mr or n % nr:
        raise ValueError(f"{m}x{n} is not a multiple of the register tile {mr}x{nr}")
    if m == 1:
        # Decode: threads take whole products of a batch (one head's P V each: every
        # thread streams whole rows of its own values), else split the columns.
        mt = 1
        split = 1 if _batch_split(batch, threads) else threads
        nt = nr * _largest_divisor(n // nr, max(1, _ceil_div(n, split) // nr))
    elif not batch and column_tiles(n, threads, vector_bits):
        # AVX2 (MLAS's split): each tile is every row of A against one 128-column
        # slice of B, so B is read from memory once per call (not once per row
        # tile), and a thread's tiles are neighbouring slices.
        mt, nt = m, AVX2_COLUMN_TILE
    else:
        # Cache level: a tile of C whose B panel (K x NT) stays in L2, M tiles
        # small enough that several exist per thread.
        nt = nr * _largest_divisor(n // nr, max(1, 256 // nr))
        n_tiles = n // nt
        per_batch = max(1, _ceil_div(4 * threads, max(batch, 1) * n_tiles))
        target = max(mr, min(128, _round_up(_ceil_div(m, per_batch), mr)))
        mt = mr * _largest_divisor(m // mr, target // mr)
    cache_k = _even_block(k, CACHE_K) if m > 1 else 0
    kr = k_unroll(m, cache_k or k, vector_bits)
    if batch:
        return ContractionTiles((1, mt, nt), cache_k, (1, mr, nr, kr))
    return ContractionTiles((mt, nt), cache_k, (mr, nr, kr))


def column_tiles(n: int, threads: int, vector_bits: int | None = None) -> bool:
    """Whether an unbatched product's thread tiles are whole-M column slices: on
    an AVX2 host, when N is made of at least one slice per thread."""
    return ((vector_bits or host_vector_bits()) < 512 and n % AVX2_COLUMN_TILE == 0
            and n // AVX2_COLUMN_TILE >= threads)


def panels_outer(vector_bits: int | None = None) -> bool:
    """Loop order of a panel product's register tiles in a K block. AVX-512: panels
    outermost, one K x 32 panel of B reused from L1 by register tiles walking down
    A's rows. AVX2: rows outermost, as MLAS: a 6-row strip of A stays in L1 while
    the tile's K x 128 block of B (128 KiB) streams from L2, panel by panel."""
    return (vector_bits or host_vector_bits()) >= 512


def k_unroll(m: int, k: int, vector_bits: int | None = None) -> int:
    """K steps per micro-kernel iteration: AVX2_K_UNROLL on an AVX2 host when it
    divides the K extent the kernel walks (a K tile that does not divide it would
    leave a masked remainder step), 1 otherwise, and always 1 on AVX-512 hosts and
    for M=1 products."""
    if m == 1 or (vector_bits or host_vector_bits()) >= 512:
        return 1
    return AVX2_K_UNROLL if k % AVX2_K_UNROLL == 0 else 1


@dataclass(frozen=True)
class GenericTiles:
    thread: tuple[int, ...]   # scf.forall sizes, or () for no parallel split
    vector: tuple[int, ...]   # tile and vector sizes over all loop dims


TRANSPOSE_TILE = 16   # a 16x16 f32 block transposes in registers with AVX-512 shuffles


def generic_tiles(ranges: list[int], iterators: list[str], threads: int,
                  transposing: bool = False) -> GenericTiles:
    """Thread split on the outermost parallel dim that has enough iterations;
    vector tiles of 1 on every dim but the innermost, which gets up to 64 lanes.
    A `transposing` generic (an operand whose fastest-varying dim is not the
    innermost loop) gets 16x16 tiles on its two innermost dims instead."""
    rank = len(ranges)
    thread = [0] * rank
    bound = list(ranges)
    total = 1
    for r in ranges:
        total *= r
    if threads > 1 and total >= MIN_PARALLEL_WORK:
        for d in range(rank - 1):
            if iterators[d] == "parallel" and ranges[d] >= threads:
                thread[d] = _ceil_div(ranges[d], threads)
                bound[d] = thread[d]
                break
    vector = [1] * rank
    if transposing and rank >= 2:
        vector[-2] = min(bound[-2], TRANSPOSE_TILE)
        vector[-1] = min(bound[-1], TRANSPOSE_TILE)
    elif rank:
        vector[-1] = min(bound[-1], VECTOR_TILE)
    return GenericTiles(tuple(thread) if any(thread) else (), tuple(vector))
