"""Child process of `attn_mlir.from_torch`: a saved ExportedProgram in, linalg-on-tensors out.

    python exporter.py PROGRAM.pt2 OUT.mlir FUNC_NAME [WEIGHTS.safetensors]

Loads the program with `torch.export.load`, imports it with
`torch_mlir.fx.export_and_import(..., output_type="linalg-on-tensors")` and
writes the module text, weights as `dense_resource` blobs printed in full.

With WEIGHTS, the floating-point parameters and buffers of at least
`EXTERNAL_MIN_BYTES` go to that safetensors file instead, under their
state-dict names, and the module loads them by name
(`ml_program.global_load_const` of `#ml_program.extern` globals; the module
attribute `attn.weights` names the file, relative to OUT.mlir). The importer
hook gives each such tensor a blob-less `dense_resource` placeholder that the
torch-mlir lowering carries through untouched; the placeholders are replaced
afterwards, so the weights never pass through the IR text.

Needs torch and torch-mlir only. A failure is one line on stderr and exit
code 1; exit code 3 means torch or torch-mlir cannot be imported.
"""

import json
import os
import struct
import sys
import warnings

EXTERNAL_MIN_BYTES = 4096
_PLACEHOLDER = "attn_external_"
_SAFETENSORS = {"torch.float32": "F32", "torch.float64": "F64", "torch.float16": "F16"}
_MLIR_FLOATS = {"torch.float32": "f32", "torch.float64": "f64", "torch.float16": "f16"}


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


def _external_hooks(exported):
    """Importer hooks that give large float weights blob-less placeholders, by name."""
    import torch
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_d
    from torch_mlir.extras.fx_importer import FxImporterHooks

    names = {}
    for table in (exported.state_dict, exported.constants):
        for name, value in table.items():
            if isinstance(value, torch.Tensor):
                names.setdefault(id(value), name)

    class Hooks(FxImporterHooks):
        def __init__(self):
            self.weights = {}  # placeholder key -> (state name, tensor)
            self.keys = {}     # state name -> placeholder key
            self.attrs = {}    # state name -> its placeholder attribute

        def resolve_literal(self, gni, literal, info):
            if not isinstance(literal, torch.Tensor) or id(literal) not in names:
                return None
            dtype = str(literal.dtype)
            if dtype not in _SAFETENSORS or literal.numel() * literal.element_size() < EXTERNAL_MIN_BYTES:
                return None
            name = names[id(literal)]
            if name not in self.keys:
                self.keys[name] = f"{_PLACEHOLDER}{len(self.keys)}"
                self.weights[self.keys[name]] = (name, literal)
                shape = "".join(f"{d}x" for d in literal.shape)
                # Parsed once per tensor: parsing the same key again would get a
                # uniquified key (`_1`) that names no tensor.
                self.attrs[name] = ir.Attribute.parse(
                    f"dense_resource<{self.keys[name]}> : tensor<{shape}{_MLIR_FLOATS[dtype]}>")
            return torch_d.ValueTensorLiteralOp(self.attrs[name]).result

    return Hooks()


def _externalize(module, hooks, weights_path: str, output: str) -> None:
    """Placeholders become loads of external globals; their tensors go to `weights_path`,
    which the module names relative to `output`'s folder."""
    with module.context:
        _replace_placeholders(module, hooks, weights_path, output)


def _replace_placeholders(module, hooks, weights_path: str, output: str) -> None:
    from torch_mlir import ir

    body = module.body
    constants = []

    def visit(op):
        if op.name == "arith.constant" and str(op.attributes["value"]).startswith(
                "dense_resource<" + _PLACEHOLDER):
            constants.append(op.operation)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    used = {}
    for op in constants:
        key = str(op.attributes["value"]).split("<", 1)[1].split(">", 1)[0]
        name, tensor = hooks.weights[key]
        tensor_type = op.results[0].type
        used[name] = (tensor, tensor_type)
        with ir.InsertionPoint(op), op.location:
            load = ir.Operation.create("ml_program.global_load_const", results=[tensor_type],
                                       attributes={"global": ir.FlatSymbolRefAttr.get(name)})
        op.results[0].replace_all_uses_with(load.results[0])
        op.erase()
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        for name, (_, tensor_type) in sorted(used.items()):
            ir.Operation.create("ml_program.global", attributes={
                "sym_name": ir.StringAttr.get(name), "sym_visibility": ir.StringAttr.get("private"),
                "type": ir.TypeAttr.get(tensor_type),
                "value": ir.Attribute.parse(f"#ml_program.extern : {tensor_type}")})
    module.operation.attributes["attn.weights"] = ir.StringAttr.get(
        os.path.relpath(weights_path, os.path.dirname(os.path.abspath(output))))
    _write_safetensors(weights_path, {name: tensor for name, (tensor, _) in sorted(used.items())})


def _write_safetensors(path: str, tensors: dict) -> None:
    header, offset = {}, 0
    for name, tensor in tensors.items():
        nbytes = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": _SAFETENSORS[str(tensor.dtype)], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 64)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for tensor in tensors.values():
            f.write(tensor.detach().cpu().contiguous().numpy().tobytes())
    os.replace(partial, path)


def main(argv) -> int:
    if len(argv) not in (3, 4):
        print("usage: exporter.py PROGRAM.pt2 OUT.mlir FUNC_NAME [WEIGHTS.safetensors]",
              file=sys.stderr)
        return 2
    program, output, func_name = argv[:3]
    weights_path = argv[3] if len(argv) == 4 else None
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
        hooks = _external_hooks(exported) if weights_path else None
        # An empty table: the decompositions above are not run again.
        module = fx.export_and_import(exported, output_type="linalg-on-tensors",
                                      func_name=func_name, decomposition_table={}, hooks=hooks)
        if weights_path:
            _externalize(module, hooks, weights_path, output)
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
