// RUN: %attn_run %examples/mini_attention.mlir --bench 3 | FileCheck %s
// RUN: %attn_run %fixtures/llama_mha.mlir --inputs %fixtures/llama_mha.npz --expect %fixtures/llama_mha.npz -q | FileCheck %s --check-prefix=EXPECT

// CHECK: result0: float32[4, 8]
// CHECK: compile: {{.*}} ms; 3 calls: median {{.*}} ms, min {{.*}} ms
// EXPECT: result0: max |error| = {{.*}}: OK
