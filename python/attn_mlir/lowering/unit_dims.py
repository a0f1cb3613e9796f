"""Unit dims dropped from elementwise and reduction generics (keep-dim reductions included).

torch-mlir writes a keep-dim reduction's result through a map with a
constant 0 (`(d0, d1, d2) -> (d0, d1, 0)` into `tensor<1x16x1xf32>`) and
reads it back through the same map. Such a result is not a projected
permutation of the loops, so upstream's tiling cannot fuse the reduction
into its consumer's row loop ("unhandled tiled implementation generation
when result is not accessed using a permuted projection"). Upstream's
`fold_unit_extent_dims_via_reshapes` patterns rewrite every `linalg.generic`
over size-1 dims to the same generic without them:

    generic(collapse_shape(x)) with the unit dims removed from every map,
    expand_shape(result) back to the original type

which reads and writes the same elements in the same order (a size-1 dim
has one index, 0); the reshapes of adjacent generics then cancel. Named
contractions are left as they are. Legality: static unit dims only (the
patterns check it).
"""

from __future__ import annotations

from mlir import ir

from ..transform_script import ANY, apply_transform, named_sequence

SCRIPT = (f'    %f = transform.structured.match ops{{["func.func"]}} in %root : ({ANY}) -> {ANY}\n'
          f"    transform.apply_patterns to %f {{\n"
          f"      transform.apply_patterns.linalg.fold_unit_extent_dims_via_reshapes\n"
          f"      transform.apply_patterns.tensor.fold_tensor_empty\n"
          f"      transform.apply_patterns.canonicalization\n"
          f"    }} : {ANY}")


def drop_unit_dims(root: ir.Operation) -> bool:
    """Apply the patterns to every function under `root`; False if the
    transform refused (the IR is then as the patterns left it: still valid)."""
    try:
        apply_transform(root, named_sequence(SCRIPT))
        return True
    except ir.MLIRError:
        return False
