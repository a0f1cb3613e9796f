# RUN: %PYTHON %s | FileCheck %s
"""The Python API, in the style of MLIR's own Python tests."""

import numpy as np

import attn_mlir as am
from attn_mlir.ir_utils import walk_ops

SOFTMAX = """
func.func @softmax(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}
"""


def run(f):
    print("\nTEST:", f.__name__)
    with am.make_context():
        f()
    return f


# CHECK-LABEL: TEST: parse_and_print
# CHECK: func.func @softmax(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32>
# CHECK: linalg.softmax dimension(1)
# CHECK: loc: loc("softmax.mlir":2:1)
# CHECK: round trip: True
@run
def parse_and_print():
    module = am.parse(SOFTMAX, "softmax.mlir")
    print(module)
    func = walk_ops(module.operation, "func.func")[0]
    print("loc:", func.location)
    print("round trip:", str(am.parse(str(module))) == str(module))


# CHECK-LABEL: TEST: pipeline_as_text
# CHECK-NOT: linalg.softmax
# CHECK: math.exp
@run
def pipeline_as_text():
    module = am.parse(SOFTMAX)
    am.run_pipeline(module, "builtin.module(attn-decompose-softmax, canonicalize)")
    print(module)


# CHECK-LABEL: TEST: pipeline_as_list
# CHECK: items: 3
# CHECK: builtin.module(attn-decompose-softmax,canonicalize,func.func(cse))
# CHECK: llvm.func "softmax"
# CHECK: llvm.func "_mlir_ciface_softmax"
@run
def pipeline_as_list():
    # Pass objects and pass texts mix; each text is parsed like a textual pipeline.
    module = am.parse(SOFTMAX)
    decompose = am.Pipeline.parse("attn-decompose-softmax").items[0]
    pipeline = am.Pipeline.of([decompose, "canonicalize", "func.func(cse)"])
    print("items:", len(pipeline.items))
    print(pipeline)
    am.run_pipeline(module, [decompose, "canonicalize", "func.func(cse)",
                             "attn-to-llvm{schedule=loops}"])
    for func in walk_ops(module.operation, "llvm.func"):
        if func.regions[0].blocks:
            print("llvm.func", func.attributes["sym_name"])


# CHECK-LABEL: TEST: pipeline_error
# CHECK: AttnError: error: unknown pass 'no-such-pass' in pass pipeline 'canonicalize,no-such-pass'
@run
def pipeline_error():
    module = am.parse(SOFTMAX)
    try:
        am.run_pipeline(module, ["canonicalize", "no-such-pass"])
    except am.AttnError as e:
        print("AttnError:", e)


# CHECK-LABEL: TEST: register_pass
# CHECK: listed: True
# CHECK: counted 1 linalg.softmax
# CHECK: counted 0 linalg.softmax
@am.register_pass("test-count-ops", summary="Print how many ops of a kind there are.",
                  options=(am.Option("name", str, "linalg.generic", "the op name to count"),))
def count_ops(op, name):
    print(f"counted {len(walk_ops(op, name))} {name}")


@run
def register_pass():
    print("listed:", "test-count-ops" in [p.name for p in am.all_passes()])
    module = am.parse(SOFTMAX)
    am.run_pipeline(module, "builtin.module(test-count-ops{name=linalg.softmax},"
                            "attn-decompose-softmax,test-count-ops{name=linalg.softmax})")


# CHECK-LABEL: TEST: compile_and_call
# CHECK: args: [(2, 4)] float32
# CHECK: matches numpy: True
@run
def compile_and_call():
    fn = am.compile(am.parse(SOFTMAX), entry="softmax")
    print("args:", [s.shape for s in fn.arg_specs], fn.arg_specs[0].dtype)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    print("matches numpy:", np.allclose(fn(x), e / e.sum(axis=1, keepdims=True), rtol=1e-5))
