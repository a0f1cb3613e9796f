"""attn-normalize: bring the many spellings of one computation to one form.

Plain upstream IR in, plain upstream IR out; it runs first in attn-raise,
attn-optimize and attn-to-llvm so that no matcher has to know how a frontend
happened to spell a scalar, a negation, a scale, a row max or a softmax
normalisation. Each rewrite is one module:

- `scalars`:   scalar ops on constants only (`truncf` of a captured f64, casts,
               arithmetic) become one constant of the result type;
- `signs`:     negation is `negf` (`mulf x, -1`, `mulf -1, x`, `subf 0, x`), a
               division by a constant is a multiplication by its reciprocal;
- `rows`:      a row max is `maximumf` (`select(cmpf ogt a, b), a, b)`), softmax
               normalisation is `divf e, sum` (`e * (1/sum)`, in one body or two
               generics), `cmpf` on an exact `extf` compares in the narrow type;
- `slices`:    a slice's stride along a dimension of size 1 is 1;
- `tables`:    cos/sin tables computed in the graph from constants (an iota times
               `inv_freq`) become constants, when they are small (bounded size).

A causal or sliding-window mask is never folded here: those are recognised
from their index expressions by `match.masks`, whatever the sequence length.
"""

from __future__ import annotations

from .. import greedy
from . import rows, scalars, signs, slices, tables


def normalize(func) -> int:
    """Run every normalization on `func` (the greedy driver, to a fixed point); returns
    the rewrites done. The driver erases what they leave dead."""
    return greedy.apply(func, scalars.REWRITES + signs.REWRITES + rows.REWRITES
                        + slices.REWRITES + tables.REWRITES)


__all__ = ["normalize"]
