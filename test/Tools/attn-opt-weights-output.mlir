// attn-optimize on a module whose weights are in a file: the weights its rewrites
// compute (fused and folded projections) are written beside the output file
// (OUT.weights.safetensors, named in attn.weights after the input's file), not into
// the IR; the output runs and matches PyTorch. Printed to stdout, the new weights go
// back into the IR as constants (nothing refers to memory of the finished process), and
// so they do when the output is a device such as /dev/null.
// The input is the external-weights Llama decoder layer fixture; this file only
// holds the RUN lines.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %attn_opt %fixtures/hf/external/llama_decoder_layer_external.mlir --attn-optimize -o %t/opt.mlir
// RUN: FileCheck %s --input-file %t/opt.mlir
// RUN: %attn_run %t/opt.mlir --inputs %fixtures/hf/external/llama_decoder_layer_external.npz --expect %fixtures/hf/external/llama_decoder_layer_external.npz -q | FileCheck %s --check-prefix=RESULT
// RUN: %attn_opt %fixtures/hf/external/llama_decoder_layer_external.mlir --attn-optimize | FileCheck %s --check-prefix=STDOUT
// To a device (no folder for a weights file beside it): as to stdout, and nothing else is written.
// RUN: %attn_opt %fixtures/hf/external/llama_decoder_layer_external.mlir --attn-optimize -o /dev/null
// RUN: not ls /dev/null.weights.safetensors

// CHECK: module attributes {attn.weights = ["{{.*}}llama_decoder_layer_external.safetensors", "{{.*}}opt.weights.safetensors"]}
// CHECK: ml_program.global private @attn.derived.{{[0-9]+}}
// CHECK: ml_program.global_load_const @attn.derived.{{[0-9]+}}

// RESULT: result0: max |error| = {{.*}}: OK

// STDOUT: module attributes {attn.weights = ["{{.*}}llama_decoder_layer_external.safetensors"]}
// STDOUT-NOT: attn.derived
// STDOUT-NOT: attn-derived:
// STDOUT: arith.constant dense<"0x
