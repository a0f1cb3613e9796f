"""attn-normalize: one spelling per computation before any matcher looks (see attn_mlir.normalize)."""

from __future__ import annotations

from ..ir_utils import functions, is_declaration
from ..normalize import normalize
from . import register_pass

NAME = "attn-normalize"


def attn_normalize(op):
    funcs = [op] if op.name == "func.func" else functions(op)
    for func in funcs:
        if not is_declaration(func):
            normalize(func)


attn_normalize.__doc__ = normalize.__doc__
register_pass(NAME, summary="Bring scalars, signs, scales, row max/softmax spellings and "
                            "constant cos/sin tables to one form (plain upstream IR).")(attn_normalize)
