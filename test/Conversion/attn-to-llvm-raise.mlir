// attn-to-llvm raises attention to attn.sdpa and lowers it to the online-softmax
// kernel (exp2, loops over key/value blocks) when its score tensor exceeds
// max-score-bytes (256 KiB by default; 0 fuses every head); smaller heads and
// raise=false compile the chain as written (exp over the full score matrix).
// single_head_512 has 1 MiB of scores: fused by default, as written up to 1 MiB.
// attn ops are lowered either way.
// The cpu schedule turns exp and exp2 into polynomials: check with plain loops.
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops max-score-bytes=0})' | FileCheck %s --check-prefix=FUSED
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops max-score-bytes=1048575})' | FileCheck %s --check-prefix=FUSED
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops})' | FileCheck %s --check-prefix=FUSED
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops max-score-bytes=1048576})' | FileCheck %s --check-prefix=ASWRITTEN
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops raise=false max-score-bytes=0})' | FileCheck %s --check-prefix=ASWRITTEN
// RUN: %attn_opt %s -p 'builtin.module(attn-to-llvm{schedule=loops raise=false max-score-bytes=0})' | FileCheck %s --check-prefix=OPS
// Under the cpu schedule the fused kernel is threads over query tiles, FMA
// micro-kernels for both products and polynomial exp2, with no linalg left.
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-raise{min-score-bytes=0}, attn-lower, attn-cpu-schedule{threads=2})' | FileCheck %s --check-prefix=CPU
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{max-score-bytes=0 threads=2})' | FileCheck %s --check-prefix=CPULLVM

// FUSED: llvm.func @attention(
// FUSED: llvm.intr.exp2
// FUSED-NOT: attn.
// CPU-LABEL: func.func @attention
// CPU-NOT: linalg.
// CPU-NOT: math.exp
// CPU: scf.forall (%{{.*}}) in (8) shared_outs
// CPU: vector.fma
// CPU: math.floor
// CPU: vector.fma
// CPU: scf.forall.in_parallel
// CPU-NOT: linalg.
// CPU-NOT: math.exp
// CPULLVM: llvm.func @attention(
// CPULLVM-NOT: attn.
// CPULLVM-NOT: llvm.intr.exp
// ASWRITTEN: llvm.func @attention(
// ASWRITTEN-NOT: llvm.intr.exp2
// ASWRITTEN: llvm.intr.exp(

// OPS: llvm.func @ops(
// OPS: llvm.intr.exp2
// OPS-NOT: attn.
func.func @ops(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = "attn.rotary"(%q, %c, %c) {style = "half", rotary_dim = 8 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %o = "attn.sdpa"(%r, %k, %v) {scale = 0.35 : f32, causal = true} : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// The attn-ops example compiles and runs; upstream mlir-opt reads it too.
// RUN: %attn_run %examples/attn_ops_gqa_causal.mlir | FileCheck %s --check-prefix=RUNS
// RUN: %mlir_opt --irdl-file=%dialect/attn.irdl.mlir %examples/attn_ops_gqa_causal.mlir | FileCheck %s --check-prefix=UPSTREAM
// RUNS-LABEL: result0: float32[1, 8, 32, 64]
// UPSTREAM: "attn.sdpa"({{.*}}) {causal = true, scale = 1.250000e-01 : f32}
