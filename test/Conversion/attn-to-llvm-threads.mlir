// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{threads=2})' | FileCheck %s --check-prefix=OMP
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{threads=1})' | FileCheck %s --check-prefix=SERIAL
// RUN: %attn_opt %examples/single_head_512.mlir -p 'builtin.module(attn-to-llvm{schedule=loops})' | FileCheck %s --check-prefix=LOOPS
// RUN: not %attn_opt %examples/mini_attention.mlir -p 'builtin.module(attn-to-llvm{schedule=fast})' 2>&1 | FileCheck %s --check-prefix=BAD

// The cpu schedule (the default) runs thread tiles on OpenMP with the requested
// thread count and computes with FMAs on two registers (16 lanes with AVX-512, 8 without;
// LLVM splits the 32- or 16-lane ops).
// OMP: llvm.func @attention(
// OMP: omp.parallel num_threads
// OMP: llvm.intr.fmuladd{{.*}}vector<{{32|16}}xf32>

// One thread: no OpenMP at all.
// SERIAL: llvm.func @attention(
// SERIAL-NOT: omp.
// SERIAL: llvm.intr.fmuladd{{.*}}vector<{{32|16}}xf32>

// The plain loops schedule stays scalar.
// LOOPS: llvm.func @attention(
// LOOPS-NOT: vector<

// BAD: unknown schedule 'fast' for attn-to-llvm (known: cpu, loops)
