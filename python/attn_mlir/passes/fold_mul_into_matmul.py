"""attn-fold-mul-into-matmul: fold a per-column constant factor into the weights.

    (x @ W) * c  ==  x @ (W * c)      when c is the same for every token

`c` is broadcast by the multiplying `linalg.generic` to the product's shape;
the rewrite needs one value per column of `W`, i.e. `c` must not vary along
the row (token) dimensions. The product may be seen through head reshapes and
transposes (`expand_shape` to [.., heads, head_dim], `linalg.transpose`): `c`
is then tiled per head onto the columns of `W`.

Legality:
* `W` is a constant (or a `linalg.transpose` of one), the matmul accumulates
  into zeros, and `c` is a constant (a tensor read through a broadcast map, or
  a scalar captured by the body);
* `c` takes a single value per column: rotary cos/sin tables qualify only
  when they do not vary along the token axis (a decode step at a fixed
  position); tables passed as function arguments never do;
* the matmul result (and every reshape between it and the multiply) has no
  other user: cloning the matmul would add FLOPs, so that case is skipped;
* the new weights fit the weight budget (`max-weight-growth`; the old `W` is
  freed when nothing else reads it).
"""

from __future__ import annotations

from ..projections import NotAProjection, analyze, elementwise_body, projection_or_none
from ..rewriting import MAX_WEIGHT_GROWTH, Skip, collapse_projection, rewrite_functions
from . import register_pass

NAME = "attn-fold-mul-into-matmul"


def _is_candidate(g):
    return (body := elementwise_body(g)) is not None and body[0] == "arith.mulf"


def fold_mul_into_matmul_rewrite(op, budget, rewriter):
    """One candidate multiply: Fired, Skip, or None when no operand is a projection."""
    _, operands, maps = elementwise_body(op)
    projected = [i for where, i in operands if where == "in"
                 and projection_or_none(op.operands[i]) is not None]
    if not projected:
        return None
    try:
        p = analyze(op.results[0])
    except NotAProjection as e:
        return Skip(op, str(e))
    return collapse_projection(NAME, op, p, budget, "multiply by a per-column constant folded "
                                                    "into the matmul weights", rewriter)


@register_pass(NAME, summary="Fold (x @ W) * c into x @ (W * c) for a token-invariant constant c.",
               options=(MAX_WEIGHT_GROWTH,))
def fold_mul_into_matmul(op, max_weight_growth=1.0):
    """(x @ W) * c -> x @ (W * c): W constant, c a constant with one value per column of W
    (same for every token, tiled per head after a head split), the matmul result used only
    by the multiply, the new weights within the budget."""
    rewrite_functions(op, NAME, ("linalg.generic",), _is_candidate,
                      fold_mul_into_matmul_rewrite, max_weight_growth)
