"""attn-lower: lower attn.* ops to linalg + scf on tensors.

attn.sdpa becomes, by default, the tiled online-softmax kernel of
kernels/sdpa.py (FlashAttention-2 forward: query tiles of `tile-q` rows, a
loop over key/value blocks of `tile-kv` rows carrying the running max, the
running sum and the output accumulator, exp2 with log2(e) folded into the
scale, one division at the end; causal skips the blocks above the diagonal,
a sliding window the blocks before it; float bias or i1 keep-mask read per
batch/head group without copying it to the full score shape).
Peak memory is O(tile-q * tile-kv) per query tile instead of O(Sq * Skv).
With `naive`, it becomes the plain chain S = scale * Q K^T (+ mask),
softmax(S), S V, which materialises the score tensor (its softmax written
out with the empty-row guard where a row may see no key, so both lowerings
give 0 there). So does an op whose
score tensor (batch x heads x Sq x Skv elements) fits in `max-score-bytes`
(attn-to-llvm passes 256 KiB): for tiny scores the chain is as fast, and its
matmuls spread even a single query row's keys over threads; above that the
fused kernel is faster under the cpu schedule and bounds the memory. With a
nonzero `max-score-bytes`, a decode step (one query row per head, no
grouped-query sharing; its scores are 1/D of K's size) also takes the chain;
a grouped-query decode step never does (the chain repeats K and V per query
head): the fused kernel's decode form stacks a group's query heads as the
rows of one tile and splits the keys across threads (flash-decoding).

attn.rotary becomes one elementwise linalg.generic over the rotated pairs and
two insert_slices (kernels/rotary.py).

Legality: every op must pass attn-verify (static shapes, consistent dims);
an ill-shaped op is reported as an error, never lowered.
"""

from __future__ import annotations

from mlir import ir

from ..attn_ops import ROTARY, SDPA, Rotary, Sdpa
from ..diagnostics import AttnError
from ..ir_utils import walk_ops
from ..kernels import inline_kernel
from ..kernels.rotary import rotary as rotary_kernel
from ..kernels.sdpa import SdpaShapes, decode_shape, sdpa_naive, sdpa_online
from . import Option, register_pass
from .attn_verify import verify_op


def _shape(value) -> list[int]:
    return list(ir.RankedTensorType(value.type).shape)


def _elem(value) -> str:
    return str(ir.RankedTensorType(value.type).element_type)


def sdpa_shapes(op) -> SdpaShapes:
    s = Sdpa(op)
    return SdpaShapes(_shape(s.query), _shape(s.key), _shape(s.value), _shape(s.result),
                      _shape(s.mask) if s.mask is not None else None, _elem(s.query),
                      s.scale, s.causal, window=s.window,
                      mask_elem=_elem(s.mask) if s.mask is not None else None)


def score_bytes(sh: SdpaShapes) -> int:
    """Bytes of the score tensor the plain chain would materialise."""
    return sh.G * sh.Sq * sh.Skv * max(1, ir.Type.parse(sh.elem).width // 8)


def decode_step(sh: SdpaShapes) -> bool:
    """One query row per head and no grouped-query sharing: the fused split-key
    kernel and the chain's matrix-vector products both read K and V once (the
    scores are 1/D of K's size) and measure the same."""
    return sh.Sq == 1 and sh.rep == 1


def grouped_decode(sh: SdpaShapes) -> bool:
    """A grouped-query decode step the split-key kernel takes: the chain would
    repeat K and V for every query head (measured 12x slower at 2048 keys,
    32 query heads over 8), whatever the size of the scores."""
    return sh.rep > 1 and decode_shape(sh)


def lower_sdpa(op, *, naive: bool = False, tile_q: int = 64, tile_kv: int = 64,
               max_score_bytes: int = 0) -> None:
    sh = sdpa_shapes(op)
    chain = score_bytes(sh) <= max_score_bytes or (max_score_bytes and decode_step(sh))
    if naive or (chain and not grouped_decode(sh)):
        text = sdpa_naive(sh)
    else:
        text = sdpa_online(sh, tile_q, tile_kv)
    inline_kernel(op, text)


def lower_rotary(op) -> None:
    r = Rotary(op)
    inline_kernel(op, rotary_kernel(_shape(r.input), _shape(r.cos), _elem(r.input), r.style,
                                   r.rotary_dim))


def attn_lower(op, naive=False, tile_q=64, tile_kv=64, max_score_bytes=0):
    if tile_q < 1 or tile_kv < 1:
        raise AttnError(f"attn-lower: tile sizes must be positive, got tile-q={tile_q} "
                        f"tile-kv={tile_kv}", usage=True)
    for found in walk_ops(op, SDPA) + walk_ops(op, ROTARY):
        verify_op(found)
    for found in walk_ops(op, SDPA):
        lower_sdpa(found, naive=naive, tile_q=tile_q, tile_kv=tile_kv,
                   max_score_bytes=max_score_bytes)
    for found in walk_ops(op, ROTARY):
        lower_rotary(found)


attn_lower.__doc__ = __doc__  # the pass's documentation is the algebra above
register_pass("attn-lower", summary="Lower attn.sdpa (online-softmax kernel) and attn.rotary "
                                     "to linalg/scf on tensors.",
               options=(
                   Option("naive", bool, False,
                          "lower attn.sdpa to matmul/softmax/matmul (materialises the scores)"),
                   Option("tile-q", int, 64, "query rows per tile of the online-softmax kernel"),
                   Option("tile-kv", int, 64, "key/value rows per block of the online-softmax kernel"),
                   Option("max-score-bytes", int, 0,
                          "materialise score tensors up to this size (the plain chain), and "
                          "when nonzero also decode steps (Sq = 1 without grouped-query "
                          "sharing); grouped-query decode steps never; 0: always the fused "
                          "kernel"),
               ))(attn_lower)
