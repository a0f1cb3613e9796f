"""Child process of `attn_mlir.from_torch`: a saved ExportedProgram in, linalg-on-tensors out.

    python exporter.py PROGRAM.pt2 OUT.mlir FUNC_NAME

Loads the program with `torch.export.load`, imports it with
`torch_mlir.fx.export_and_import(..., output_type="linalg-on-tensors")` and
writes the module text (weights as `dense_resource` blobs, printed in full).
Needs torch and torch-mlir only. A failure is one line on stderr and exit
code 1; exit code 3 means torch or torch-mlir cannot be imported.
"""

import os
import sys
import warnings


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(error).__name__}: {text[:400]}"


def _buffers_in_state_dict(exported) -> None:
    """torch-mlir's frozen import looks buffers up in `state_dict` only; non-persistent
    buffers (RoPE's inv_freq, position ids) are in `constants`: give it those too.
    Done after the decompositions, whose verifier rejects it."""
    state = exported.state_dict  # the program's own dict, not a copy
    for name in exported.graph_signature.inputs_to_buffers.values():
        if name not in state and name in exported.constants:
            state[name] = exported.constants[name]


def main(argv) -> int:
    if len(argv) != 3:
        print("usage: exporter.py PROGRAM.pt2 OUT.mlir FUNC_NAME", file=sys.stderr)
        return 2
    program, output, func_name = argv
    warnings.filterwarnings("ignore")
    try:
        import torch
        from torch_mlir import fx
    except ImportError as e:
        print(f"cannot import torch-mlir: {_one_line(e)}", file=sys.stderr)
        return 3
    try:
        exported = torch.export.load(program)
        exported = exported.run_decompositions(fx.get_decomposition_table())
        _buffers_in_state_dict(exported)
        # An empty table: the decompositions above are not run again.
        module = fx.export_and_import(exported, output_type="linalg-on-tensors",
                                      func_name=func_name, decomposition_table={})
        text = module.operation.get_asm(large_elements_limit=None, large_resource_limit=None)
    except Exception as e:  # torch-mlir reports unsupported ops and lowering failures this way
        print(f"torch-mlir could not import the program: {_one_line(e)}", file=sys.stderr)
        return 1
    partial = output + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, output)  # a cache entry is complete or absent
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
